"""Queued work that must not be lost with a worker or with the queue.

Whoever queues such a task records when it is overdue in a sorted set; a sweep queues again
the overdue records that have not ended and that no running task holds (its lock).
"""

from collections.abc import Callable, Collection

from service import clock
from service.context import Context
from service.store import keys
from service.store.records import Record

BATCH = 100


def expect(ctx: Context, due_key: str, record_id: str, delay: float, grace: float) -> None:
    """The task queued for record_id runs within delay + grace seconds, or counts as lost."""
    ctx.redis.zadd(due_key, {record_id: clock.now() + delay + grace})


def requeue(ctx: Context, due_key: str, model: type[Record], terminal: Collection[object],
            queue: Callable[[Context, str], None]) -> int:
    """Queue again the overdue records not ended and not held; answer how many."""
    queued = 0
    for raw in ctx.redis.zrangebyscore(due_key, "-inf", clock.now(), start=0, num=BATCH):
        record_id = raw.decode()
        record = ctx.store.get(model, record_id)
        if record is None or record.status in terminal:
            ctx.redis.zrem(due_key, record_id)
        elif not ctx.redis.exists(keys.lock(model.kind, record_id)):
            queue(ctx, record_id)
            queued += 1
    return queued
