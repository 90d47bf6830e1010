"""When each active job is synced next: a sorted set of job ids by due time."""

from service.context import Context
from service.store import keys


def mark_due(ctx: Context, job_id: str, at: float = 0) -> None:
    ctx.redis.zadd(keys.jobs_due(), {job_id: at})


def mark_due_sooner(ctx: Context, job_id: str, at: float) -> None:
    """Make the job due at `at` unless it is already due earlier."""
    ctx.redis.zadd(keys.jobs_due(), {job_id: at}, lt=True)


def forget(ctx: Context, job_id: str) -> None:
    ctx.redis.zrem(keys.jobs_due(), job_id)


def due(ctx: Context, now: float, batch: int) -> list[str]:
    return [raw.decode() for raw in
            ctx.redis.zrangebyscore(keys.jobs_due(), "-inf", now, start=0, num=batch)]
