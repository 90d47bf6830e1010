"""Readiness and the deployment-wide gauges (/metrics/cluster), read from Redis when scraped."""

import redis
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from rq.registry import FailedJobRegistry, StartedJobRegistry

from service.context import Context
from service.jobs.models import JobStatus
from service.store import keys

# Not in the process's default registry: every replica would report the same global value.
CLUSTER = CollectorRegistry(auto_describe=True)
QUEUE_DEPTH = Gauge("ftm_queue_depth", "Tasks waiting or running", ["queue", "state"],
                    registry=CLUSTER)
JOBS = Gauge("ftm_jobs", "Jobs by status", ["status"], registry=CLUSTER)


def is_redis_reachable(ctx: Context) -> bool:
    try:
        return bool(ctx.redis.ping())
    except (redis.RedisError, OSError):
        return False


def refresh_gauges(ctx: Context) -> None:
    queue = ctx.queue
    QUEUE_DEPTH.labels(queue.name, "queued").set(queue.count)
    QUEUE_DEPTH.labels(queue.name, "started").set(StartedJobRegistry(queue=queue).count)
    QUEUE_DEPTH.labels(queue.name, "failed").set(FailedJobRegistry(queue=queue).count)
    counts = ctx.redis.hgetall(keys.jobs_by_status())
    for status in JobStatus:
        JOBS.labels(status.value).set(int(counts.get(status.value.encode(), 0)))


def cluster_metrics(ctx: Context) -> bytes:
    refresh_gauges(ctx)
    return generate_latest(CLUSTER)
