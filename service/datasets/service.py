"""What the dataset routes call."""

from service.context import Context
from service.datasets.models import Dataset
from service.errors import DatasetNotFound, InvalidRequest
from service.pagination import Page, take_page


def get(ctx: Context, project_id: str, dataset_id: str) -> Dataset:
    dataset = ctx.store.get(Dataset, dataset_id)
    if dataset is None or dataset.project_id != project_id:
        raise DatasetNotFound(dataset_id)
    return dataset


def page(ctx: Context, project_id: str, limit: int, after: str | None) -> Page[Dataset]:
    if after is not None:
        get(ctx, project_id, after)
    return take_page(ctx.store.scan(Dataset, project_id, after=after), limit)
