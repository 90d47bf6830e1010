"""Readiness and the gauges /metrics shows besides request metrics."""

import redis
from prometheus_client import Gauge
from rq.registry import FailedJobRegistry, StartedJobRegistry

from service.context import Context

QUEUE_DEPTH = Gauge("ftm_queue_depth", "Tasks waiting or running", ["queue", "state"])


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
