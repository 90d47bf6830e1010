"""Tasks go to queues by kind; a worker takes launches and syncs before bulk validation and
evaluations; /metrics shows each queue's depth and the age of its oldest task."""

import re

from rq import SimpleWorker

from worker.context import use_context


def test_a_launch_queued_behind_a_validation_backlog_runs_first(ctx):
    for number in range(5):
        ctx.enqueue("validate_dataset", f"ds_missing_{number}")
        ctx.enqueue("run_evaluation", f"evaluation_missing_{number}")
    ctx.enqueue("launch_job", "job_missing")
    validation, evaluation = ctx.queue_for("validate_dataset"), ctx.queue_for("run_evaluation")
    assert (ctx.queue.count, validation.count, evaluation.count) == (1, 5, 5)
    use_context(ctx)
    SimpleWorker(ctx.queues, connection=ctx.redis).work(burst=True, max_jobs=1,
                                                        logging_level="WARNING")
    assert (ctx.queue.count, validation.count, evaluation.count) == (0, 5, 5)
    SimpleWorker(ctx.queues, connection=ctx.redis).work(burst=True, max_jobs=5,
                                                        logging_level="WARNING")
    assert (validation.count, evaluation.count) == (0, 5)


def test_metrics_show_depth_and_oldest_age_per_queue(client, ctx):
    ctx.enqueue("validate_dataset", "ds_missing")
    ctx.redis.hset(f"rq:job:{ctx.queue_for('validate_dataset').get_job_ids()[0]}",
                   "enqueued_at", "2020-01-01T00:00:00.000000Z")
    text = client.get("/metrics/cluster").text  # deployment-wide: scraped once, not per replica
    assert 'ftm_queue_depth{queue="ftm-validation",state="queued"} 1.0' in text
    assert 'ftm_queue_depth{queue="ftm",state="queued"} 0.0' in text
    age = re.search(r'ftm_queue_oldest_age_seconds\{queue="ftm-validation"\} (\S+)', text)
    assert age is not None
    assert float(age.group(1)) > 3600
    assert 'ftm_queue_oldest_age_seconds{queue="ftm"} 0.0' in text
