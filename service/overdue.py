"""Queued work that must not be lost with a worker or with the queue.

Whoever queues such a task records when it is overdue in a sorted set; a sweep queues again
the overdue records that have not ended and that no running task holds (its lock, named by the
caller).
"""

from collections.abc import Callable, Collection

from service import clock
from service.context import Context
from service.store import due, locks
from service.store.locks import LockName
from service.store.records import Record

BATCH = 100


def expect(ctx: Context, due_key: str, record_id: str, delay: float, grace: float) -> None:
    """The task queued for record_id runs within delay + grace seconds, or counts as lost."""
    due.put(ctx.redis, due_key, record_id, clock.now() + delay + grace)


def requeue(ctx: Context, due_key: str, model: type[Record], terminal: Collection[object],
            lock: LockName, queue: Callable[[Context, str], None]) -> int:
    """Queue again the overdue records not ended and whose task does not hold `lock` on them;
    answer how many. model has a `status` (which Record does not declare) compared to terminal."""
    queued = 0
    for record_id in due.due_by(ctx.redis, due_key, clock.now(), BATCH):
        record = ctx.store.get(model, record_id)
        if record is None or record.status in terminal:  # type: ignore[attr-defined]
            due.drop(ctx.redis, due_key, record_id)
        elif not locks.is_held(ctx.redis, lock, record_id):
            queue(ctx, record_id)
            queued += 1
    return queued
