"""Readiness and the gauges /metrics shows besides request metrics."""

from datetime import UTC

import redis
from prometheus_client import Gauge
from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry

from service import clock
from service.context import Context
from service.jobs.models import JobStatus
from service.store import keys

QUEUE_DEPTH = Gauge("ftm_queue_depth", "Tasks waiting or running", ["queue", "state"])
QUEUE_AGE = Gauge("ftm_queue_oldest_age_seconds", "How long the oldest waiting task has waited",
                  ["queue"])
JOBS = Gauge("ftm_jobs", "Jobs by status", ["status"])


def is_redis_reachable(ctx: Context) -> bool:
    try:
        return bool(ctx.redis.ping())
    except (redis.RedisError, OSError):
        return False


def refresh_gauges(ctx: Context) -> None:
    for queue in ctx.queues:
        QUEUE_DEPTH.labels(queue.name, "queued").set(queue.count)
        QUEUE_DEPTH.labels(queue.name, "started").set(StartedJobRegistry(queue=queue).count)
        QUEUE_DEPTH.labels(queue.name, "failed").set(FailedJobRegistry(queue=queue).count)
        QUEUE_AGE.labels(queue.name).set(oldest_age(queue))
    counts = ctx.redis.hgetall(keys.jobs_by_status())
    for status in JobStatus:
        JOBS.labels(status.value).set(int(counts.get(status.value.encode(), 0)))


def oldest_age(queue: Queue) -> float:
    """Seconds since the task at the head of the queue was queued; 0 for an empty queue."""
    for job_id in queue.get_job_ids(0, 1):
        job = queue.fetch_job(job_id)
        if job is not None and job.enqueued_at is not None:
            queued = job.enqueued_at.replace(tzinfo=job.enqueued_at.tzinfo or UTC)
            return max(0.0, clock.now_precise() - queued.timestamp())
    return 0.0
