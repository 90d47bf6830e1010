"""python -m worker: an RQ worker (with its scheduler for delayed tasks) and the periodic sweeps."""

import argparse
import multiprocessing

from rq import Worker

from service.context import QUEUE_NAME
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
    ctx.enqueue("reconcile_jobs")  # after a restart, pick up whatever was in flight
    cron = None
    if not args.no_cron and not args.burst:
        cron = multiprocessing.get_context("spawn").Process(target=run_cron, daemon=True)
        cron.start()
    try:
        Worker([QUEUE_NAME], connection=ctx.redis).work(
            with_scheduler=True, burst=args.burst, logging_level=ctx.settings.log_level.upper())
    finally:
        if cron is not None:
            cron.terminate()
            cron.join(5)


if __name__ == "__main__":
    main()
