"""The periodic sweeps, registered with RQ's cron scheduler."""

from collections.abc import Callable

from rq.cron import CronScheduler

from service.context import QUEUE_NAME
from worker.context import current_context

# (task, interval in seconds); the sweeps take their own locks, so two schedulers are harmless.
SWEEPS: list[tuple[Callable[[], None], int]] = []


def run_cron() -> None:
    ctx = current_context()
    scheduler = CronScheduler(connection=ctx.redis, logging_level=ctx.settings.log_level.upper())
    for task, interval in SWEEPS:
        scheduler.register(task, QUEUE_NAME, interval=interval)
    if SWEEPS:
        scheduler.start()
