"""The jobs index (real Redis) and the hold for capacity, the one move back of the state table."""

import pytest

from service import clock, ids
from service.errors import InvalidJobState
from service.jobs import events, index, lifecycle, states
from service.jobs.models import Job, JobStatus, ProviderRef, SupervisedMethod


def new_job(status: JobStatus = JobStatus.pending) -> Job:
    now = clock.now()
    return Job(id=ids.new_id("job"), created_at=now, updated_at=now, project_id="proj_index",
               model="gpt-4o-mini-2024-07-18", training_dataset="ds_x",
               method=SupervisedMethod(type="supervised"), status=status)


def stored_job(ctx, status: JobStatus = JobStatus.pending) -> Job:
    """A job recorded as the service records one, counted by its status."""
    job = new_job(status)
    ctx.store.create(job, job.project_id,
                     also_write=lambda pipe: index.count_status_change(ctx, None, job.status, pipe))
    return job


def status_messages(ctx, job_id: str) -> list[str]:
    return [e["message"] for e in events.log_of(ctx).all(job_id) if e["type"] == "status"]


def test_claiming_due_jobs_leases_them(ctx):
    now = clock.now_precise()
    index.mark_due(ctx, "job_a", now - 5)
    index.mark_due(ctx, "job_b", now + 600)
    claimed = index.claim_due(ctx, now, 10, now + 120)
    assert claimed == [("job_a", now - 5)]
    assert index.claim_due(ctx, now, 10, now + 120) == []  # leased until now + 120
    assert index.scheduled_count(ctx) == 2


def test_due_sooner_never_postpones_and_forget_unschedules(ctx):
    index.mark_due(ctx, "job_a", 100)
    index.mark_due_sooner(ctx, "job_a", 200)
    assert index.claim_due(ctx, 150, 10, 1000) == [("job_a", 100.0)]
    index.mark_due_sooner(ctx, "job_a", 50)
    assert index.claim_due(ctx, 60, 10, 1000) == [("job_a", 50.0)]
    index.forget_due(ctx, "job_a")
    assert not index.is_scheduled(ctx, "job_a")


def test_waiting_jobs_keep_their_place_in_creation_order(ctx):
    index.add_waiting(ctx, "job_late", 20)
    index.add_waiting(ctx, "job_early", 10)
    index.add_waiting(ctx, "job_late", 5)  # held again: keeps its place
    assert index.waiting(ctx, 10) == ["job_early", "job_late"]
    assert index.waiting_up_to(ctx, 15) == ["job_early"]
    index.remove_waiting(ctx, "job_early")
    assert index.waiting(ctx, 10) == ["job_late"]


def test_creation_order_is_the_jobs_index_score(ctx):
    first, second = stored_job(ctx), stored_job(ctx)
    assert 0 < index.creation_order(ctx, first.id) < index.creation_order(ctx, second.id)
    assert index.creation_order(ctx, "job_unknown") == 0.0


def test_provider_job_links_to_its_job(ctx):
    assert index.job_of_provider_job(ctx, "ftjob-abc") is None
    index.link_provider_job(ctx, "ftjob-abc", "job_a")
    assert index.job_of_provider_job(ctx, "ftjob-abc") == "job_a"


def test_status_counts_change_only_with_their_transaction(ctx):
    pipe = ctx.redis.pipeline(transaction=True)
    index.count_status_change(ctx, None, JobStatus.pending, pipe)
    index.count_status_change(ctx, None, JobStatus.pending, pipe)
    index.count_status_change(ctx, JobStatus.pending, JobStatus.running, pipe)
    index.count_status_change(ctx, JobStatus.running, JobStatus.running, pipe)
    assert index.status_counts(ctx)[JobStatus.pending] == 0
    pipe.execute()
    counts = index.status_counts(ctx)
    assert counts[JobStatus.pending] == 1
    assert counts[JobStatus.running] == 1
    assert set(counts) == set(JobStatus)


def test_finished_jobs_by_finish_time(ctx):
    index.mark_finished(ctx, "job_old", 100)
    index.mark_finished(ctx, "job_new", 300)
    assert index.finished_before(ctx, 200, 10) == ["job_old"]
    index.forget_finished(ctx, "job_old")
    assert index.finished_before(ctx, 400, 10) == ["job_new"]


def test_result_metrics_and_checkpoints_are_kept_apart(ctx):
    assert index.checkpoints(ctx, "job_a") == []
    index.save_result_metrics(ctx, "job_a", [{"step": 1, "train_loss": 0.5}])
    index.save_checkpoints(ctx, "job_a", [{"id": "ftckpt_1"}])
    assert index.result_metrics(ctx, "job_a") == [{"step": 1, "train_loss": 0.5}]
    assert index.checkpoints(ctx, "job_a") == [{"id": "ftckpt_1"}]


@pytest.mark.parametrize("status", [JobStatus.pending, JobStatus.preparing])
def test_the_table_holds_a_job_not_yet_launched(status):
    held = states.advance(new_job(status), JobStatus.pending, states.PROVIDER_CAPACITY)
    assert held.status == JobStatus.pending
    assert held.pending_reason == "provider_capacity"


@pytest.mark.parametrize("status", [JobStatus.validating_files, JobStatus.running,
                                    JobStatus.paused, JobStatus.cancelled])
def test_the_table_refuses_to_hold_a_launched_or_ended_job(status):
    with pytest.raises(InvalidJobState):
        states.advance(new_job(status), JobStatus.pending, states.PROVIDER_CAPACITY)


def test_only_a_hold_moves_a_job_back_to_pending():
    with pytest.raises(InvalidJobState):
        states.advance(new_job(JobStatus.preparing), JobStatus.pending)


def test_a_hold_writes_status_event_counts_and_waiting_place_together(ctx):
    job = stored_job(ctx, JobStatus.preparing)
    before = index.status_counts(ctx)
    held = lifecycle.move(ctx, job.id, JobStatus.pending, reason="no room",
                          held_for=states.PROVIDER_CAPACITY)
    assert held is not None
    assert held.pending_reason == "provider_capacity"
    assert status_messages(ctx, job.id) == ["Status changed from preparing to pending: no room"]
    after = index.status_counts(ctx)
    assert after[JobStatus.preparing] == before[JobStatus.preparing] - 1
    assert after[JobStatus.pending] == before[JobStatus.pending] + 1
    assert index.waiting(ctx, 10) == [job.id]


def test_holding_a_waiting_job_again_changes_no_status(ctx):
    job = stored_job(ctx)
    for _ in range(2):
        lifecycle.move(ctx, job.id, JobStatus.pending, reason="no room",
                       held_for=states.PROVIDER_CAPACITY)
    assert status_messages(ctx, job.id) == []
    assert index.status_counts(ctx)[JobStatus.pending] == 1
    assert index.waiting(ctx, 10) == [job.id]


def test_a_cancelled_job_is_not_held(ctx):
    job = stored_job(ctx)
    lifecycle.move(ctx, job.id, JobStatus.cancelled, reason="cancelled by the user")
    held = lifecycle.move(ctx, job.id, JobStatus.pending, held_for=states.PROVIDER_CAPACITY)
    assert held is None
    assert index.waiting(ctx, 10) == []
    assert ctx.store.get(Job, job.id).status == JobStatus.cancelled


def test_recording_the_provider_job_ends_the_wait_and_makes_it_due(ctx):
    job = stored_job(ctx, JobStatus.preparing)
    lifecycle.move(ctx, job.id, JobStatus.pending, held_for=states.PROVIDER_CAPACITY)
    index.mark_due(ctx, job.id, clock.now_precise() + 600)
    written = lifecycle.move_or_update(ctx, job.id, JobStatus.validating_files, update={
        "provider": ProviderRef(job_id="ftjob-rec"), "pending_reason": None})
    assert written.moved
    assert written.after.pending_reason is None
    assert index.waiting(ctx, 10) == []
    assert index.job_of_provider_job(ctx, "ftjob-rec") == job.id
    assert index.claim_due(ctx, clock.now_precise(), 10, clock.now_precise() + 60)[0][0] == job.id


def test_a_refused_move_still_writes_the_fields(ctx):
    job = stored_job(ctx)
    lifecycle.move(ctx, job.id, JobStatus.cancelled)
    written = lifecycle.move_or_update(ctx, job.id, JobStatus.running,
                                       update={"provider": ProviderRef(job_id="ftjob-late")})
    assert not written.moved
    assert written.after.status == JobStatus.cancelled
    assert written.after.provider.job_id == "ftjob-late"


def test_an_ending_move_leaves_the_due_and_waiting_sets_for_the_finished_one(ctx):
    job = stored_job(ctx)
    lifecycle.move(ctx, job.id, JobStatus.pending, held_for=states.PROVIDER_CAPACITY)
    index.mark_due(ctx, job.id, 0)
    lifecycle.move(ctx, job.id, JobStatus.cancelled)
    assert not index.is_scheduled(ctx, job.id)
    assert index.waiting(ctx, 10) == []
    assert index.finished_before(ctx, clock.now() + 1, 10) == [job.id]
