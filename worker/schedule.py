"""The sweep loop: one worker at a time (the leader) queues the periodic sweeps and the delayed
tasks that are due; every worker's loop beats its heartbeat and outlives any store outage."""

import os
import secrets
import socket
import time

import redis
from rq.scheduler import RQScheduler

from service.context import Context
from service.logs import log
from service.settings import Settings
from service.store import locks
from service.store.locks import LockName
from service.tasks import QUEUE_NAMES, Task
from worker import health
from worker.context import current_context

TICK_SECONDS = 1.0
LEADER_TTL_SECONDS = 10.0  # a dead leader's successor takes over within this
MAX_BACKOFF_SECONDS = 15.0
STORE_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)


def sweeps(settings: Settings) -> list[tuple[Task, int]]:
    """(task, interval in seconds). Sweeps lease what they take, so an overlap is harmless."""
    return [(Task.sync_due_jobs, settings.sync_sweep_seconds),
            (Task.reconcile_jobs, settings.reconcile_seconds),
            (Task.requeue_overdue_deliveries, 60),
            (Task.requeue_overdue_validations,
             max(5, min(30, int(settings.validation_overdue_seconds)))),
            (Task.requeue_overdue_evaluations, 60),
            (Task.requeue_overdue_pipelines, 60),
            (Task.delete_expired_provider_files, 600),
            (Task.remove_partial_uploads, min(600, settings.upload_max_seconds))]


def run_cron() -> None:
    """Run the sweep loop until the process is stopped."""
    ctx = current_context()
    token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    delayed = RQScheduler(QUEUE_NAMES, connection=ctx.redis)
    delayed.prepare_registries(QUEUE_NAMES)
    next_run: dict[str, float] = {}
    failures, parent = 0, os.getppid()
    while os.getppid() == parent:  # a worker killed with SIGKILL leaves no sweeps behind
        try:
            role = tick(ctx, token, next_run, delayed)
            failures = 0
        except STORE_ERRORS as exc:
            failures += 1
            role = "waiting_for_store"
            log.warning("worker.sweeps.store_unreachable", error=str(exc), failures=failures)
        health.beat(ctx.settings, role)
        time.sleep(pause(failures))


def tick(ctx: Context, token: str, next_run: dict[str, float], delayed: RQScheduler) -> str:
    """Queue what is due if this loop leads; answer its role."""
    if not locks.take_or_renew(ctx.redis, LockName.sweeps, "leader", token, LEADER_TTL_SECONDS):
        next_run.clear()  # should it lead later, it starts with every sweep at once
        return "standby"
    now = time.monotonic()
    for task, interval in sweeps(ctx.settings):
        if next_run.get(task, 0.0) <= now:
            ctx.enqueue(task, job_timeout=interval * 30)
            next_run[task] = now + interval
    delayed.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]  # rq leaves it untyped
    return "leader"


def pause(failures: int) -> float:
    """A tick apart while the store answers; doubling, up to a bound, while it does not."""
    return TICK_SECONDS if failures == 0 else min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** failures)
