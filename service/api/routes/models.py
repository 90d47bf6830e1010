from fastapi import APIRouter

from service.api.deps import ContextDep, ProjectDep
from service.api.openapi import problems
from service.deletion import Deleted
from service.finetuned import service as models
from service.finetuned.models import ModelList, ModelOut

# Model ids hold colons (ft:gpt-4o-mini-2024-07-18:org:suffix:abc123): {model:path} takes them
# whole.
router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("")
def list_models(project: ProjectDep, ctx: ContextDep) -> ModelList:
    return models.list_active(ctx, project.id)


@router.get("/{model:path}")
def retrieve_model(model: str, project: ProjectDep, ctx: ContextDep) -> ModelOut:
    return models.get(ctx, project.id, model)


@router.delete("/{model:path}", responses=problems(403, 502))
def delete_model(model: str, project: ProjectDep, ctx: ContextDep) -> Deleted:
    return models.delete(ctx, project.id, model)
