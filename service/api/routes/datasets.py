from fastapi import APIRouter

from service.api.deps import ContextDep, ProjectDep
from service.api.pagination import After, Limit
from service.datasets import service as datasets
from service.datasets.models import Dataset
from service.pagination import Page

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


@router.get("")
def list_datasets(project: ProjectDep, ctx: ContextDep, limit: Limit = 20,
                  after: After = None) -> Page[Dataset]:
    return datasets.page(ctx, project.id, limit, after)


@router.get("/{dataset_id}")
def get_dataset(dataset_id: str, project: ProjectDep, ctx: ContextDep) -> Dataset:
    return datasets.get(ctx, project.id, dataset_id)
