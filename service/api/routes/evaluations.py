from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import WithJsonSchema

from service.api.deps import ContextDep, ProjectDep
from service.api.openapi import problems
from service.api.pagination import After, Limit
from service.evaluations import service as evaluations
from service.evaluations.models import Evaluation, EvaluationCreate, Prediction
from service.pagination import Page

router = APIRouter(prefix="/v1/evaluations", tags=["evaluations"])


def evaluation_response(evaluation: Evaluation, status: int) -> JSONResponse:
    return JSONResponse(evaluation.model_dump(mode="json"), status,
                        headers={"Location": f"/v1/evaluations/{evaluation.id}"})


@router.post("", status_code=202, response_model=Evaluation, responses=problems(404, 409))
def create_evaluation(body: EvaluationCreate, project: ProjectDep, ctx: ContextDep) -> Response:
    return evaluation_response(evaluations.create(ctx, project.id, body), 202)


@router.get("")
def list_evaluations(project: ProjectDep, ctx: ContextDep, limit: Limit = 20,
                     after: After = None) -> Page[Evaluation]:
    return evaluations.page(ctx, project.id, limit, after)


@router.get("/{evaluation_id}")
def get_evaluation(evaluation_id: str, project: ProjectDep, ctx: ContextDep) -> Evaluation:
    return evaluations.get(ctx, project.id, evaluation_id)


@router.post("/{evaluation_id}/cancel", status_code=202, response_model=Evaluation,
             responses=problems(409))
def cancel_evaluation(evaluation_id: str, project: ProjectDep, ctx: ContextDep) -> Response:
    return evaluation_response(evaluations.cancel(ctx, project.id, evaluation_id), 202)


@router.get("/{evaluation_id}/predictions", response_model=Page[Prediction],
            responses={200: {"content": {"text/csv": {}}}})
def list_evaluation_predictions(
        evaluation_id: str, project: ProjectDep, ctx: ContextDep, limit: Limit = 20,
        after: Annotated[str | None, Query(
            description="The id (`<model>:<index>`) of the last prediction of the previous page."),
            WithJsonSchema({"type": "string", "pattern": "^.+:[0-9]+$",
                            "examples": ["ft:gpt-4o-mini-2024-07-18:org::AbC123xy:41"]})] = None,
        model: Annotated[str | None, Query(description="Only this model's predictions.")] = None,
        correct: Annotated[bool | None, Query(description="Only right (or wrong) ones.")] = None,
        format: Annotated[Literal["json", "csv"], Query()] = "json") -> Response:
    """Oldest first by example index; `format=csv` streams every matching row as CSV."""
    if format == "csv":
        lines = evaluations.predictions_csv(ctx, project.id, evaluation_id, model, correct)
        return StreamingResponse(lines, media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{evaluation_id}-predictions.csv"'})
    found = evaluations.page_predictions(ctx, project.id, evaluation_id, limit, after, model,
                                         correct)
    return JSONResponse(found.model_dump(mode="json"))
