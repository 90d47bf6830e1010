"""Readiness and the deployment-wide gauges (/metrics/cluster), read from Redis when scraped."""

from datetime import UTC

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry

from service import clock
from service.context import Context
from service.jobs import index as job_index
from service.store import clients

# Not in the process's default registry: every replica would report the same global value.
CLUSTER = CollectorRegistry(auto_describe=True)
QUEUE_DEPTH = Gauge("ftm_queue_depth", "Tasks waiting or running", ["queue", "state"],
                    registry=CLUSTER)
QUEUE_AGE = Gauge("ftm_queue_oldest_age_seconds", "How long the oldest waiting task has waited",
                  ["queue"], registry=CLUSTER)
JOBS = Gauge("ftm_jobs", "Jobs by status", ["status"], registry=CLUSTER)


def is_redis_reachable(ctx: Context) -> bool:
    return clients.is_reachable(ctx.redis)


def refresh_gauges(ctx: Context) -> None:
    for queue in ctx.queues:
        QUEUE_DEPTH.labels(queue.name, "queued").set(queue.count)
        QUEUE_DEPTH.labels(queue.name, "started").set(StartedJobRegistry(queue=queue).count)
        QUEUE_DEPTH.labels(queue.name, "failed").set(FailedJobRegistry(queue=queue).count)
        QUEUE_AGE.labels(queue.name).set(oldest_age(queue))
    for status, count in job_index.status_counts(ctx).items():
        JOBS.labels(status.value).set(count)


def cluster_metrics(ctx: Context) -> bytes:
    refresh_gauges(ctx)
    return generate_latest(CLUSTER)


def queued_seconds(job: Job | None) -> float | None:
    """How long a queued task has waited, None when it never was queued."""
    if job is None or job.enqueued_at is None:
        return None
    queued = job.enqueued_at.replace(tzinfo=job.enqueued_at.tzinfo or UTC)
    return max(0.0, clock.now_precise() - queued.timestamp())


def oldest_age(queue: Queue) -> float:
    """Seconds since the task at the head of the queue was queued; 0 for an empty queue."""
    for job_id in queue.get_job_ids(0, 1):
        return queued_seconds(queue.fetch_job(job_id)) or 0.0
    return 0.0
