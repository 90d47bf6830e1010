"""An evaluation's status moves forward only: queued → running → succeeded | failed | cancelled."""

from typing import Any

from service import clock
from service.context import Context
from service.errors import InvalidEvaluationState
from service.evaluations.models import TERMINAL, Evaluation, EvaluationStatus
from service.store import keys

S = EvaluationStatus
NEXT: dict[EvaluationStatus, frozenset[EvaluationStatus]] = {
    S.queued: frozenset({S.running, S.failed, S.cancelled}),
    S.running: frozenset({S.running, S.succeeded, S.failed, S.cancelled}),
    S.succeeded: frozenset(), S.failed: frozenset(), S.cancelled: frozenset(),
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
    return evaluation.model_copy(update=changes)


def move(ctx: Context, evaluation_id: str, to: EvaluationStatus,
         update: dict[str, Any] | None = None) -> Evaluation | None:
    """Apply the move atomically; None when the evaluation is already where it cannot leave."""
    extra = None
    if to == S.cancelled:
        def extra(pipe, old, new):  # type: ignore[no-untyped-def]
            pipe.set(keys.evaluation_cancel(evaluation_id), "1", ex=7 * 86400)
    try:
        return ctx.store.update(Evaluation, evaluation_id,
                                lambda evaluation: advance(evaluation, to, update), extra)
    except InvalidEvaluationState:
        return None


def is_cancelled(ctx: Context, evaluation_id: str) -> bool:
    return bool(ctx.redis.exists(keys.evaluation_cancel(evaluation_id)))
