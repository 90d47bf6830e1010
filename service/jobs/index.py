"""Every Redis index of jobs, and the documents kept beside a job's record.

The one module of the jobs domain that speaks to Redis (records go through the store, events
through the event log, locks through service/store/locks). Each writer takes an optional
pipeline so that it can join the transaction that changes the job.
"""

from typing import Any

import orjson

from service.context import Context
from service.jobs.models import Job, JobStatus
from service.store import due, keys
from service.store.clients import Pipeline, Writer, text

MaybePipe = Pipeline | None

# Claim the due jobs and push them a lease ahead in one step, so two sweeps never share one.
CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
for i = 1, #due, 2 do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], due[i]) end
return due
"""


def on(ctx: Context, pipe: MaybePipe) -> Writer:
    return pipe if pipe is not None else ctx.redis


# Due: when each active job is synced next.

def mark_due(ctx: Context, job_id: str, at: float = 0, pipe: MaybePipe = None) -> None:
    on(ctx, pipe).zadd(keys.jobs_due(), {job_id: at})


def mark_due_sooner(ctx: Context, job_id: str, at: float, pipe: MaybePipe = None) -> None:
    """Make the job due at `at` unless it is already due earlier."""
    on(ctx, pipe).zadd(keys.jobs_due(), {job_id: at}, lt=True)


def forget_due(ctx: Context, job_id: str, pipe: MaybePipe = None) -> None:
    on(ctx, pipe).zrem(keys.jobs_due(), job_id)


def is_scheduled(ctx: Context, job_id: str) -> bool:
    return ctx.redis.zscore(keys.jobs_due(), job_id) is not None


def scheduled_count(ctx: Context) -> int:
    """How many jobs are followed (due now or later)."""
    return int(ctx.redis.zcard(keys.jobs_due()))


def claim_due(ctx: Context, now: float, batch: int, lease_until: float) -> list[tuple[str, float]]:
    """Up to `batch` jobs due by `now`, with when each was due; each is next due at
    `lease_until`, so a sync lost with its worker comes back then."""
    claimed = ctx.redis.eval(CLAIM, 1, keys.jobs_due(), now, batch, lease_until)
    pairs = zip(claimed[::2], claimed[1::2], strict=True)
    return [(text(job_id), float(score)) for job_id, score in pairs]


# Waiting for capacity: jobs the provider refused for capacity, by creation order.

def creation_order(ctx: Context, job_id: str) -> float:
    """When the job was created, to the microsecond (its index score), not in whole seconds."""
    return ctx.redis.zscore(keys.all_index(Job.kind), job_id) or 0.0


def add_waiting(ctx: Context, job_id: str, order: float, pipe: MaybePipe = None) -> None:
    """Queue the job for capacity at its creation order, keeping its place if it has one."""
    on(ctx, pipe).zadd(keys.jobs_waiting_capacity(), {job_id: order}, nx=True)


def remove_waiting(ctx: Context, job_id: str, pipe: MaybePipe = None) -> None:
    on(ctx, pipe).zrem(keys.jobs_waiting_capacity(), job_id)


def waiting(ctx: Context, limit: int) -> list[str]:
    """The oldest jobs waiting for capacity, oldest first."""
    return due.ids(ctx.redis.zrange(keys.jobs_waiting_capacity(), 0, limit - 1))


def waiting_up_to(ctx: Context, order: float) -> list[str]:
    """Jobs waiting for capacity created no later than `order`, oldest first."""
    return due.ids(ctx.redis.zrangebyscore(keys.jobs_waiting_capacity(), "-inf", order))


# By provider job id.

def link_provider_job(ctx: Context, provider_job_id: str, job_id: str,
                      pipe: MaybePipe = None) -> None:
    on(ctx, pipe).set(keys.job_by_provider(provider_job_id), job_id)


def job_of_provider_job(ctx: Context, provider_job_id: str) -> str | None:
    raw = ctx.redis.get(keys.job_by_provider(provider_job_id))
    return None if raw is None else text(raw)


# Counts by status.

def count_status_change(ctx: Context, old: JobStatus | None, new: JobStatus,
                        pipe: MaybePipe = None) -> None:
    """Keep the by-status counts; old is None for a new job. The one writer of the counts,
    called in the transaction that writes the job."""
    if old == new:
        return
    target = on(ctx, pipe)
    if old is not None:
        target.hincrby(keys.jobs_by_status(), old, -1)
    target.hincrby(keys.jobs_by_status(), new, 1)


def status_counts(ctx: Context) -> dict[JobStatus, int]:
    raw = ctx.redis.hgetall(keys.jobs_by_status())
    counts = {text(status): int(count) for status, count in raw.items()}
    return {status: counts.get(status.value, 0) for status in JobStatus}


# Finished: jobs by finish time, until their provider files are cleaned up.

def mark_finished(ctx: Context, job_id: str, at: float, pipe: MaybePipe = None) -> None:
    on(ctx, pipe).zadd(keys.jobs_finished(), {job_id: at})


def finished_before(ctx: Context, cutoff: float, batch: int) -> list[str]:
    return due.due_by(ctx.redis, keys.jobs_finished(), cutoff, batch)


def forget_finished(ctx: Context, job_id: str, pipe: MaybePipe = None) -> None:
    on(ctx, pipe).zrem(keys.jobs_finished(), job_id)


# Documents kept beside the record: the provider's result metrics and checkpoints.

def save_result_metrics(ctx: Context, job_id: str, rows: list[dict[str, Any]]) -> None:
    ctx.redis.set(keys.job_result_metrics(job_id), orjson.dumps(rows))


def result_metrics(ctx: Context, job_id: str) -> list[dict[str, Any]]:
    return read_list(ctx, keys.job_result_metrics(job_id))


def save_checkpoints(ctx: Context, job_id: str, checkpoints: list[dict[str, Any]]) -> None:
    ctx.redis.set(keys.job_checkpoints(job_id), orjson.dumps(checkpoints))


def checkpoints(ctx: Context, job_id: str) -> list[dict[str, Any]]:
    return read_list(ctx, keys.job_checkpoints(job_id))


def read_list(ctx: Context, key: str) -> list[dict[str, Any]]:
    raw = ctx.redis.get(key)
    return orjson.loads(raw) if raw else []
