"""An evaluation's status moves forward only: queued → running → succeeded | failed | cancelled."""

from typing import Any

from service import clock
from service.context import Context
from service.errors import InvalidEvaluationState
from service.evaluations import repository
from service.evaluations.models import TERMINAL, Evaluation, EvaluationStatus
from service.store.clients import Pipeline

QUEUED, RUNNING = EvaluationStatus.queued, EvaluationStatus.running
SUCCEEDED, FAILED = EvaluationStatus.succeeded, EvaluationStatus.failed
CANCELLED = EvaluationStatus.cancelled
NEXT: dict[EvaluationStatus, frozenset[EvaluationStatus]] = {
    QUEUED: frozenset({RUNNING, FAILED, CANCELLED}),
    RUNNING: frozenset({RUNNING, SUCCEEDED, FAILED, CANCELLED}),
    SUCCEEDED: frozenset(), FAILED: frozenset(), CANCELLED: frozenset(),
}


def advance(evaluation: Evaluation, to: EvaluationStatus,
            update: dict[str, Any] | None = None) -> Evaluation:
    if to not in NEXT[evaluation.status]:
        raise InvalidEvaluationState(
            f"Evaluation {evaluation.id} is {evaluation.status}; it cannot become {to}.")
    now = clock.now()
    changes: dict[str, Any] = {"status": to, "updated_at": now, **(update or {})}
    if to in TERMINAL:
        changes["finished_at"] = now
    return evaluation.evolve(**changes)


def move(ctx: Context, evaluation_id: str, to: EvaluationStatus,
         update: dict[str, Any] | None = None) -> Evaluation | None:
    """Apply the move atomically; None when the evaluation is already where it cannot leave."""
    def mark_cancelled(pipe: Pipeline, old: Evaluation, new: Evaluation) -> None:
        repository.mark_cancelled(pipe, evaluation_id)

    try:
        return ctx.store.update(
            Evaluation, evaluation_id, lambda evaluation: advance(evaluation, to, update),
            also_write=mark_cancelled if to == EvaluationStatus.cancelled else None)
    except InvalidEvaluationState:
        return None


def is_cancelled(ctx: Context, evaluation_id: str) -> bool:
    return repository.is_cancelled(ctx.redis, evaluation_id)
