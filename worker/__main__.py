"""python -m worker: an RQ worker (with its scheduler for delayed tasks) and the periodic sweeps."""

import argparse
import multiprocessing
from multiprocessing.process import BaseProcess

from service import tracing
from service.context import QUEUE_NAME
from service.settings import Settings
from worker import metrics
from worker.context import current_context
from worker.schedule import run_cron


def main() -> None:
    parser = argparse.ArgumentParser(prog="ftm-worker")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--no-cron", action="store_true",
                        help="do not run the periodic sweeps (run them in one worker only)")
    args = parser.parse_args()
    ctx = current_context()
    # Every task runs in a fork of this process: build the provider client once, here, rather
    # than in each task (0.1-0.3 s of CPU a task: the SDK's lazy imports, a TLS context).
    _ = ctx.gateway.client.fine_tuning.jobs.checkpoints, ctx.gateway.client.files
    tracing.configure("finetune-manager-worker")
    ctx.enqueue("reconcile_jobs")  # after a restart, pick up whatever was in flight
    worker = metrics.MeteredWorker([QUEUE_NAME], connection=ctx.redis)
    exporter = start_exporter(ctx.settings, worker)
    cron = None
    if not args.no_cron and not args.burst:
        cron = multiprocessing.get_context("spawn").Process(target=run_cron, daemon=True)
        cron.start()
    try:
        worker.work(with_scheduler=True, burst=args.burst,
                    logging_level=ctx.settings.log_level.upper())
    finally:
        if exporter is not None:
            exporter.terminate()
        if cron is not None:
            cron.terminate()
            cron.join(5)


def start_exporter(settings: Settings, worker: metrics.MeteredWorker) -> BaseProcess | None:
    """The worker's /metrics, in a process of its own, if a port is set."""
    if settings.worker_metrics_port is None:
        return None
    worker.metrics_dir = metrics.prepare_dir()
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    exporter = multiprocessing.get_context("spawn").Process(
        target=metrics.serve, daemon=True,
        args=(str(worker.metrics_dir), settings.worker_metrics_host,
              settings.worker_metrics_port, token, settings.log_level))
    exporter.start()
    return exporter


if __name__ == "__main__":
    main()
