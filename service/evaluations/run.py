"""Run an evaluation (the `run_evaluation` task): safe to run twice and to die at any line.

One run at a time holds the evaluation's lease. A run first surveys the dataset once
(queued → running, with the total and the labels), then asks for the answers online or
follows its provider batches, re-queuing itself while work remains, and at the end scores the
stored answers (→ succeeded, or failed when no request was answered) and sends the
`evaluation.completed` webhook.
"""

from service.context import Context
from service.errors import ServiceError
from service.evaluations import batch, examples, online, predictions, results, service, states
from service.evaluations.models import (
    TERMINAL,
    Evaluation,
    EvaluationError,
    EvaluationProgress,
    EvaluationStatus,
    RunOutcome,
)
from service.logs import log
from service.store.locks import Lease, LockName
from service.webhooks import service as webhooks


def run(ctx: Context, evaluation_id: str) -> None:
    lease = Lease(ctx.redis, LockName.evaluation, evaluation_id,
                  ctx.settings.evaluation_lock_seconds)
    if not lease.acquire():
        current = ctx.store.get(Evaluation, evaluation_id)
        if current is not None and current.status not in TERMINAL:
            # The holder may have died: look again once its lease can have lapsed.
            service.queue_run(ctx, evaluation_id, ctx.settings.evaluation_lock_seconds)
        return
    again: float | None = None
    try:
        again = step(ctx, evaluation_id, lease)
    except ServiceError as exc:
        fail(ctx, evaluation_id, EvaluationError(code=exc.code, message=exc.detail))
    except Exception as exc:
        log.exception("evaluation.run.crashed", evaluation_id=evaluation_id)
        fail(ctx, evaluation_id, EvaluationError(code="internal_error", message=repr(exc)))
    finally:
        lease.release()
    if again is not None:
        service.queue_run(ctx, evaluation_id, again)


def step(ctx: Context, evaluation_id: str, lease: Lease) -> float | None:
    """Do what the evaluation needs next; answer the seconds until the next run, if one is due."""
    evaluation = ctx.store.get(Evaluation, evaluation_id)
    if evaluation is None:
        return None
    if evaluation.status in TERMINAL:
        if evaluation.status == EvaluationStatus.cancelled and evaluation.mode == "batch":
            batch.cancel_remote(ctx, evaluation)
        return None
    if not evaluation.is_prepared:
        prepared = prepare(ctx, evaluation)
        if prepared is None:
            return None
        evaluation = prepared
    if evaluation.mode == "online":
        outcome = online.run(ctx, evaluation, lease)
    else:
        outcome = batch.follow(ctx, evaluation)
    if outcome == RunOutcome.finished:
        finish(ctx, evaluation_id)
    elif outcome == RunOutcome.next_slice:
        return 0.0
    elif outcome == RunOutcome.poll_later:
        return ctx.settings.evaluation_batch_poll_seconds
    return None


def prepare(ctx: Context, evaluation: Evaluation) -> Evaluation | None:
    """Read the dataset once: the examples to ask about, the skipped ones, the labels."""
    inputs = predictions.InputWriter(ctx, evaluation.id)
    found = examples.survey(ctx, evaluation.dataset, evaluation.max_examples,
                            evaluation.scoring, keep=inputs.add)
    inputs.flush()
    if found.examples == 0:
        fail(ctx, evaluation.id, EvaluationError(
            code="no_examples", message=f"Dataset {evaluation.dataset} has no example with a "
                                        "final assistant message."))
        return None
    predictions.save_labels(ctx, evaluation.id, found.labels)
    log.info("evaluation.started", evaluation_id=evaluation.id, examples=found.examples,
             skipped=found.skipped, labels=len(found.labels))
    return states.move(ctx, evaluation.id, EvaluationStatus.running, {
        "progress": EvaluationProgress(done=0, total=found.examples * len(evaluation.models)),
        "last_index": found.last_index, "skipped_examples": found.skipped})


def finish(ctx: Context, evaluation_id: str) -> None:
    evaluation = ctx.store.get(Evaluation, evaluation_id)
    if evaluation is None or evaluation.status in TERMINAL:
        return
    outcome = results.compute(ctx, evaluation)
    progress = EvaluationProgress(done=predictions.count(ctx, evaluation_id),
                                  total=evaluation.progress.total)
    if outcome.error is not None:
        fail(ctx, evaluation_id, outcome.error, {"progress": progress})
        return
    finished = states.move(ctx, evaluation_id, EvaluationStatus.succeeded, {
        "results": outcome.results, "comparison": outcome.comparison, "progress": progress})
    if finished is not None:
        log.info("evaluation.succeeded", evaluation_id=evaluation_id)
        completed(ctx, finished)


def fail(ctx: Context, evaluation_id: str, error: EvaluationError,
         update: dict[str, object] | None = None) -> None:
    failed = states.move(ctx, evaluation_id, EvaluationStatus.failed,
                         {"error": error, **(update or {})})
    if failed is not None:
        log.warning("evaluation.failed", evaluation_id=evaluation_id, code=error.code)
        completed(ctx, failed)


def completed(ctx: Context, evaluation: Evaluation) -> None:
    webhooks.notify(ctx, evaluation.project_id, "evaluation.completed",
                    {"evaluation": evaluation.model_dump(mode="json")})

