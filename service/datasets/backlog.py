"""Datasets awaiting validation: recorded with their task in one step, queued again when the
task is lost (a worker killed, an API killed before queuing it), capped per project."""

from collections.abc import Callable

from service import clock, overdue
from service.context import Context
from service.datasets import repository
from service.datasets.models import Dataset, DatasetStatus
from service.errors import ValidationBacklog
from service.store import keys
from service.store.clients import Pipeline
from service.store.locks import LockName
from service.tasks import Task

SETTLED = (DatasetStatus.ready, DatasetStatus.invalid)
RETRY_AFTER_SECONDS = 30


def check_room(ctx: Context, project_id: str) -> None:
    """Refuse a new upload while the project's backlog is full."""
    waiting = repository.awaiting_count(ctx.redis, project_id)
    if waiting >= ctx.settings.max_datasets_awaiting_validation:
        raise ValidationBacklog(waiting, RETRY_AFTER_SECONDS)


def expect_validation(ctx: Context, dataset: Dataset) -> Callable[[Pipeline], None]:
    """Writes for the record's own transaction: its validation is expected, and counted."""
    def also_write(pipe: Pipeline) -> None:
        repository.expect_validation(pipe, dataset.id, dataset.project_id, dataset.created_at,
                                     clock.now() + ctx.settings.validation_overdue_seconds)
    return also_write


def settle(pipe: Pipeline, dataset: Dataset) -> None:
    """Writes for the transaction that ends the dataset's validation."""
    repository.settle(pipe, dataset.id, dataset.project_id)


def queue_validation(ctx: Context, dataset_id: str, delay: float = 0.0) -> None:
    overdue.expect(ctx, keys.datasets_due(), dataset_id, delay,
                   ctx.settings.validation_overdue_seconds)
    ctx.enqueue(Task.validate_dataset, dataset_id, delay=delay)


def requeue_overdue(ctx: Context) -> int:
    """Queue again the validations lost with a worker or never queued."""
    return overdue.requeue(ctx, keys.datasets_due(), Dataset, SETTLED, LockName.dataset,
                           queue_validation)
