"""What every task does besides its work: its log lines carry the ids of the request that queued
it and of the records it works on; it joins that request's trace; it is counted and timed."""

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

import structlog
from rq import get_current_job

from service import tracing
from service.logs import log
from service.metrics import TASK_SECONDS, TASK_WAIT, TASKS
from service.operations import queued_seconds


def ids_of(signature: inspect.Signature, args: tuple[Any, ...],
           kwargs: dict[str, Any]) -> dict[str, str]:
    """The task's id arguments by name (job_id=..., dataset_id=...)."""
    bound = signature.bind_partial(*args, **kwargs).arguments
    return {name: value for name, value in bound.items()
            if name.endswith("_id") and isinstance(value, str)}


def task(routine: bool = False) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Wrap a task; routine ones (sweeps, syncs) log at debug, unless they fail."""
    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        name, signature = fn.__name__, inspect.signature(fn)
        level = "debug" if routine else "info"

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> None:
            job = get_current_job()
            meta = job.meta if job is not None else {}
            context = {"request_id": meta.get("request_id"), "task": name,
                       "task_id": job.id if job is not None else None,
                       **ids_of(signature, args, kwargs)}
            if (waited := queued_seconds(job)) is not None:
                TASK_WAIT.labels(name).observe(waited)
            started, outcome = time.perf_counter(), "failed"
            with (structlog.contextvars.bound_contextvars(
                      **{k: v for k, v in context.items() if v is not None}),
                  tracing.span(f"task {name}", "consumer", {"ftm.task": name},
                               parent=meta.get("trace"))):
                try:
                    fn(*args, **kwargs)
                    outcome = "ok"
                finally:
                    seconds = time.perf_counter() - started
                    TASKS.labels(name, outcome).inc()
                    TASK_SECONDS.labels(name).observe(seconds)
                    getattr(log, level if outcome == "ok" else "warning")(
                        "task.done", outcome=outcome, duration_ms=round(seconds * 1000, 1))

        return run
    return wrap
