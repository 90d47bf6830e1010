"""python -m worker: an RQ worker and its sweep loop; `--check` answers whether both are alive."""

import argparse
import importlib
import multiprocessing
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

from rq.exceptions import StopRequested

from service import tracing
from service.context import Context
from service.logs import log
from service.settings import Settings, load_settings
from service.tasks import Task
from worker import health, metrics
from worker.context import current_context
from worker.schedule import STORE_ERRORS, pause, run_cron


def main() -> None:
    parser = argparse.ArgumentParser(prog="ftm-worker")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--no-cron", action="store_true",
                        help="do not run the sweep loop (one worker at a time leads it anyway)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless this host's sweep loop has beaten lately")
    args = parser.parse_args()
    if args.check:
        check()
    ctx = current_context()
    # Every task runs in a fork of this process: build the provider client once, here, rather
    # than in each task (0.1-0.3 s of CPU a task: the SDK's lazy imports, a TLS context).
    ctx.provider.prepare()
    importlib.import_module("worker.tasks")  # and the tasks' modules, once, not in every fork
    tracing.configure("finetune-manager-worker")
    metrics_dir = metrics.prepare_dir() if ctx.settings.worker_metrics_port is not None else None
    exporter = start_exporter(ctx.settings, metrics_dir)
    if not args.no_cron and not args.burst:
        threading.Thread(target=supervise_sweeps, daemon=True).start()
    try:
        work(ctx, burst=args.burst, metrics_dir=metrics_dir)
    finally:
        if exporter is not None:
            exporter.terminate()


def check() -> None:
    problem = health.problem(load_settings())
    print(problem or "ok")
    sys.exit(1 if problem else 0)


def work(ctx: Context, burst: bool, metrics_dir: Path | None = None) -> None:
    """Take tasks until stopped; a store outage that ends RQ's loop only pauses this one."""
    failures = 0
    while True:
        worker, started = None, time.monotonic()
        try:
            worker = metrics.MeteredWorker(ctx.queues, connection=ctx.redis)
            worker.metrics_dir = metrics_dir
            ctx.enqueue(Task.reconcile_jobs)  # after a (re)start, pick up whatever was in flight
            worker.work(burst=burst, logging_level=ctx.settings.log_level.upper())
        except STORE_ERRORS as exc:
            log.warning("worker.store_unreachable", error=str(exc))
        if burst or (worker is not None and worker._stop_requested):
            return
        failures = failures + 1 if time.monotonic() - started < 60 else 1
        try:
            time.sleep(pause(failures))
        except StopRequested:  # RQ's handler: a stop asked for while the store was away
            return


def supervise_sweeps() -> None:
    """Run the sweep loop in its own process, started again (after a pause) should it die."""
    failures = 0
    while True:
        sweeper: BaseProcess = multiprocessing.get_context("spawn").Process(
            target=run_cron, daemon=True, name="sweeps")
        sweeper.start()
        started = time.monotonic()
        sweeper.join()
        failures = failures + 1 if time.monotonic() - started < 60 else 1
        log.error("worker.sweeps.died", exitcode=sweeper.exitcode, failures=failures)
        time.sleep(pause(failures))


def start_exporter(settings: Settings, metrics_dir: Path | None) -> BaseProcess | None:
    """The worker's /metrics, in a process of its own, if a port is set."""
    if settings.worker_metrics_port is None or metrics_dir is None:
        return None
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    exporter = multiprocessing.get_context("spawn").Process(
        target=metrics.serve, daemon=True,
        args=(str(metrics_dir), settings.worker_metrics_host,
              settings.worker_metrics_port, token, settings.log_level))
    exporter.start()
    return exporter


if __name__ == "__main__":
    main()
