"""The periodic sweeps, registered with RQ's cron scheduler."""

from collections.abc import Callable

from rq.cron import CronScheduler

from service.context import QUEUE_NAME
from worker import tasks
from worker.context import current_context


def sweeps() -> list[tuple[Callable[[], None], int]]:
    """(task, interval in seconds). Sweeps lease what they take, so two schedulers are harmless."""
    settings = current_context().settings
    return [(tasks.sync_due_jobs, settings.sync_sweep_seconds),
            (tasks.reconcile_jobs, settings.reconcile_seconds),
            (tasks.requeue_overdue_deliveries, 60),
            (tasks.requeue_overdue_evaluations, 60),
            (tasks.requeue_overdue_pipelines, 60),
            (tasks.delete_expired_provider_files, 600)]


def run_cron() -> None:
    ctx = current_context()
    scheduler = CronScheduler(connection=ctx.redis, logging_level=ctx.settings.log_level.upper())
    for task, interval in sweeps():
        scheduler.register(task, QUEUE_NAME, interval=interval, job_timeout=interval * 30)
    scheduler.start()
