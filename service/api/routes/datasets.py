from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import ClientDisconnect

from service import idempotency
from service.api.deps import ContextDep, ProjectDep
from service.api.middleware import auth_scope
from service.api.openapi import problems
from service.api.pagination import After, Limit
from service.datasets import service as datasets
from service.datasets.convert import ConvertRequest
from service.datasets.models import (
    Dataset,
    DatasetFormat,
    DatasetReport,
    DatasetRows,
    SplitResult,
)
from service.datasets.split import SplitRequest
from service.deletion import Deleted
from service.names import PRINTABLE_PATTERN
from service.pagination import Page
from service.store.clients import Pipeline

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])

# The file is UTF-8 text: JSONL (chat, prompt_completion, preference) or CSV with a header row;
# its lines are checked after the upload, its encoding and first lines before the answer.
UPLOAD_EXAMPLE = ('{"messages": [{"role": "system", "content": "Classify the reflection."}, '
                  '{"role": "user", "content": "I learned to question my first answer."}, '
                  '{"role": "assistant", "content": "Critical Reflection"}]}\n')
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "examples": [UPLOAD_EXAMPLE],
                 "description": "UTF-8 text: JSON Lines (chat, prompt_completion or "
                                "preference) or CSV with a header row."},
        "name": {"type": "string", "pattern": PRINTABLE_PATTERN},
        "format": {"type": "string", "enum": ["auto", *DatasetFormat], "default": "auto"}}}}}}}


@router.post("", status_code=201, openapi_extra=UPLOAD_BODY,
             responses={201: {"model": Dataset}})
async def upload_dataset(request: Request, project: ProjectDep, ctx: ContextDep) -> Response:
    stored = await datasets.store_upload(ctx, project.id, until_disconnect(request),
                                         request.headers.get("content-type", ""))
    key = request.headers.get("idempotency-key")
    if not key:
        return created(datasets.record_upload(ctx, project.id, stored))
    scope, request_fingerprint = auth_scope(request.headers), upload_fingerprint(stored)
    try:
        first = idempotency.claim(ctx, scope, key, request_fingerprint)
    except Exception:
        datasets.discard_upload(ctx, stored)
        raise
    if first is not None:
        datasets.discard_upload(ctx, stored)
        return replayed(first)

    def keep_answer(pipe: Pipeline, dataset: Dataset) -> None:
        """In the transaction that records the dataset: a retry after the process died
        replays this answer rather than recording the file again."""
        idempotency.complete(ctx, scope, key, request_fingerprint, 201, [
            ("location", location(dataset)), ("content-type", "application/json")],
            orjson.dumps(dataset.model_dump(mode="json")), pipe)

    return created(datasets.record_upload(ctx, project.id, stored, keep_answer))


def upload_fingerprint(stored: datasets.StoredUpload) -> str:
    """The upload's fields and file: the same again is a repeat of this upload."""
    return idempotency.fingerprint("POST /v1/datasets", orjson.dumps(
        stored.received.fields, option=orjson.OPT_SORT_KEYS), stored.received.sha256)


def location(dataset: Dataset) -> str:
    return f"/v1/datasets/{dataset.id}"


def replayed(first: idempotency.Stored) -> Response:
    """The first answer as it was, even if the dataset was deleted since."""
    dataset = Dataset.model_validate_json(first.body)
    return Response(first.body, first.status, media_type="application/json", headers={
        "Location": location(dataset), "Idempotent-Replayed": "true"})


async def until_disconnect(request: Request) -> AsyncIterator[bytes]:
    """The body as it arrives; a client hanging up just ends it, so the upload is cut short."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        return


@router.get("")
def list_datasets(
        project: ProjectDep, ctx: ContextDep, limit: Limit = 20, after: After = None,
        parent_id: Annotated[str | None, Query(description=(
            "Only the datasets made from this one (converted, split or cleaned); an id no "
            "dataset was made from gives an empty list."))] = None) -> Page[Dataset]:
    return datasets.page(ctx, project.id, limit, after, parent_id)


@router.get("/{dataset_id}")
def get_dataset(dataset_id: str, project: ProjectDep, ctx: ContextDep) -> Dataset:
    return datasets.get(ctx, project.id, dataset_id)


@router.get("/{dataset_id}/content", response_class=StreamingResponse,
            responses={200: {"content": {"application/jsonl": {}, "text/csv": {}}}})
def download_dataset_content(dataset_id: str, project: ProjectDep, ctx: ContextDep
                             ) -> StreamingResponse:
    dataset = datasets.get(ctx, project.id, dataset_id)
    media = "text/csv" if dataset.format == DatasetFormat.csv else "application/jsonl"
    return StreamingResponse(datasets.content(ctx, dataset), media_type=media, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(dataset.filename, safe='')}",
        "Content-Length": str(dataset.bytes)})


@router.get("/{dataset_id}/rows")
def list_dataset_rows(dataset_id: str, project: ProjectDep, ctx: ContextDep,
             offset: Annotated[int, Query(ge=0)] = 0,
             limit: Annotated[int, Query(ge=1, le=100)] = 20) -> DatasetRows:
    return datasets.rows(ctx, datasets.get(ctx, project.id, dataset_id), offset, limit)


@router.get("/{dataset_id}/report", responses=problems(409))
def get_dataset_report(dataset_id: str, project: ProjectDep, ctx: ContextDep,
               model: str | None = None) -> DatasetReport:
    return DatasetReport.model_validate(
        datasets.report(ctx, datasets.get(ctx, project.id, dataset_id), model))


@router.post("/{dataset_id}/convert", status_code=201, response_model=Dataset,
             responses=problems(409))
def convert_dataset(dataset_id: str, body: ConvertRequest, project: ProjectDep,
                    ctx: ContextDep) -> Response:
    return created(datasets.convert(ctx, project.id, dataset_id, body))


@router.post("/{dataset_id}/split", status_code=201, responses=problems(409))
def split_dataset(dataset_id: str, body: SplitRequest, project: ProjectDep, ctx: ContextDep,
                  response: Response) -> SplitResult:
    result = SplitResult(**datasets.split(ctx, project.id, dataset_id, body))
    first = next(iter(result.splits.values()))
    response.headers["Location"] = f"/v1/datasets/{first.id}"
    return result


def created(dataset: Dataset) -> Response:
    return JSONResponse(dataset.model_dump(mode="json"), 201,
                        headers={"Location": f"/v1/datasets/{dataset.id}"})


@router.delete("/{dataset_id}", responses=problems(409, 502))
def delete_dataset(dataset_id: str, project: ProjectDep, ctx: ContextDep) -> Deleted:
    return datasets.delete(ctx, project.id, dataset_id)
