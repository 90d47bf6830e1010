from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from service.api.deps import ContextDep, ProjectDep
from service.api.openapi import problems
from service.api.pagination import After, Limit
from service.pagination import Page
from service.pipelines import service as pipelines
from service.pipelines.models import Pipeline, PipelineCreate, PipelineStatus

router = APIRouter(prefix="/v1/pipelines", tags=["pipelines"])


def pipeline_response(pipeline: Pipeline, status: int) -> JSONResponse:
    return JSONResponse(pipeline.model_dump(mode="json"), status,
                        headers={"Location": f"/v1/pipelines/{pipeline.id}"})


@router.post("", status_code=202, response_model=Pipeline, responses=problems(404, 409))
def create_pipeline(body: PipelineCreate, project: ProjectDep, ctx: ContextDep) -> Response:
    """Convert, split, fine-tune and evaluate in one call; the steps run in the background."""
    return pipeline_response(pipelines.create(ctx, project, body), 202)


@router.get("")
def list_pipelines(project: ProjectDep, ctx: ContextDep, limit: Limit = 20, after: After = None,
                   status: PipelineStatus | None = None) -> Page[Pipeline]:
    return pipelines.page(ctx, project.id, limit, after, status)


@router.get("/{pipeline_id}")
def get_pipeline(pipeline_id: str, project: ProjectDep, ctx: ContextDep) -> Pipeline:
    return pipelines.get(ctx, project.id, pipeline_id)


@router.post("/{pipeline_id}/cancel", status_code=202, response_model=Pipeline,
             responses=problems(409))
def cancel_pipeline(pipeline_id: str, project: ProjectDep, ctx: ContextDep) -> Response:
    return pipeline_response(pipelines.cancel(ctx, project.id, pipeline_id), 202)
