"""What every domain function gets first: settings and the clients built from them, once per
process."""

import os
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

import structlog
from rq import Queue

from service import tracing
from service.provider import build_provider
from service.provider.base import Provider
from service.settings import Settings
from service.storage import Storage, build_storage
from service.store import clients
from service.store.records import Store
from service.tasks import QUEUE_NAME, QUEUE_NAMES, TASK_QUEUES, Task


@dataclass(frozen=True)
class Context:
    settings: Settings
    redis: clients.Client

    @cached_property
    def store(self) -> Store:
        return Store(self.redis)

    @cached_property
    def storage(self) -> Storage:
        return build_storage(self.settings)

    @cached_property
    def provider(self) -> Provider:
        return build_provider(self.settings, self.redis)

    @cached_property
    def queues(self) -> list[Queue]:
        """Every queue, most urgent first."""
        return [Queue(name, connection=self.redis) for name in QUEUE_NAMES]

    @property
    def queue(self) -> Queue:
        return self.queues[0]

    def queue_for(self, task: Task) -> Queue:
        return self.queues[QUEUE_NAMES.index(TASK_QUEUES.get(task, QUEUE_NAME))]

    def enqueue(self, task: Task, *args: object, delay: float = 0.0, **options: object) -> None:
        """Queue `worker.tasks.<task>(*args)` by name, to run after delay seconds; the API
        never imports the worker. The task carries the request id and trace it was queued in."""
        name, queue = f"worker.tasks.{task}", self.queue_for(task)
        options.setdefault("meta", carried())
        if delay > 0:
            queue.enqueue_in(timedelta(seconds=delay), name, *args, **options)
        else:
            queue.enqueue(name, *args, **options)


def carried() -> dict[str, object]:
    """What a queued task takes from the request (or task) that queued it: its ids, its trace."""
    bound = structlog.contextvars.get_contextvars()
    meta: dict[str, object] = {k: bound[k] for k in ("request_id",) if bound.get(k)}
    if trace := tracing.carrier():
        meta["trace"] = trace
    return meta


def async_client(settings: Settings) -> clients.AsyncClient:
    """An asyncio client for the API's reads on the event loop; make it on that loop."""
    return clients.connect_on_loop(settings.redis_url)


def build_context(settings: Settings) -> Context:
    if settings.tiktoken_cache_dir is not None:  # read by tiktoken, here and in its subprocesses
        os.environ["TIKTOKEN_CACHE_DIR"] = str(settings.tiktoken_cache_dir.resolve())
    return Context(settings=settings, redis=clients.connect(settings.redis_url))
