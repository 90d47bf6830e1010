from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import orjson
import redis.asyncio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sse_starlette.sse import EventSourceResponse, ServerSentEvent

from service.api.deps import ContextDep, ProjectDep
from service.api.pagination import After, Limit
from service.errors import InvalidRequest
from service.jobs import events as job_events
from service.jobs import metrics as job_metrics
from service.jobs import service as jobs
from service.jobs.models import TERMINAL, DryRun, Job, JobCreate, JobImport, JobStatus
from service.jobs.sync import read_json
from service.pagination import Page
from service.store.events import is_valid_id, read_after

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
HEARTBEAT_SECONDS = 15


class InvalidCursor(InvalidRequest):
    code = "invalid_cursor"


def job_response(job: Job, status: int) -> JSONResponse:
    return JSONResponse(job.model_dump(mode="json"), status,
                        headers={"Location": f"/v1/jobs/{job.id}"})


@router.post("", status_code=202, responses={200: {"model": DryRun}, 202: {"model": Job}})
def create_job(body: JobCreate, project: ProjectDep, ctx: ContextDep) -> Response:
    created = jobs.create(ctx, project, body)
    if isinstance(created, DryRun):
        return JSONResponse(created.model_dump(mode="json"), 200)
    return job_response(created, 202)


@router.post("/import", status_code=202, response_model=Job)
def import_job(body: JobImport, project: ProjectDep, ctx: ContextDep) -> Response:
    return job_response(jobs.import_job(ctx, project, body), 202)


@router.get("", response_model=Page[Job])
def list_jobs(request: Request, project: ProjectDep, ctx: ContextDep, limit: Limit = 20,
              after: After = None, status: JobStatus | None = None,
              model: str | None = None) -> Page[Job]:
    metadata = {key[len("metadata["):-1]: value for key, value in request.query_params.items()
                if key.startswith("metadata[") and key.endswith("]")}
    return jobs.page(ctx, project.id, limit, after, status, model, metadata)


@router.get("/{job_id}", response_model=Job)
async def get_job(job_id: str, request: Request, project: ProjectDep) -> Response:
    # The hottest read: on the event loop (no thread hop), serialized once (no second
    # validation against response_model).
    job = await jobs.get_on_loop(request.app.state.async_redis, project.id, job_id)
    return Response(job.model_dump_json(), media_type="application/json")


@router.post("/{job_id}/{action}", status_code=202, response_model=Job)
def control_job(job_id: str, action: Literal["cancel", "pause", "resume"], project: ProjectDep,
                ctx: ContextDep) -> Response:
    act = {"cancel": jobs.cancel, "pause": jobs.pause, "resume": jobs.resume}[action]
    return job_response(act(ctx, project.id, job_id), 202)


def checked_cursor(after: str | None) -> str | None:
    if after is not None and not is_valid_id(after):
        raise InvalidCursor(f"{after!r} is not an event id.",
                            errors=[{"field": "query.after", "message": "not an event id"}])
    return after


@router.get("/{job_id}/events")
def list_events(job_id: str, project: ProjectDep, ctx: ContextDep,
                after: After = None, limit: Limit = 20) -> Page[dict[str, Any]]:
    jobs.get(ctx, project.id, job_id)
    data = job_events.log_of(ctx).after(job_id, checked_cursor(after), limit + 1)
    has_more = len(data) > limit
    data = data[:limit]
    return Page[dict[str, Any]](data=data, has_more=has_more,
                                first_id=data[0]["id"] if data else None,
                                last_id=data[-1]["id"] if data else None)


@router.get("/{job_id}/events/stream", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream_events(job_id: str, request: Request, project: ProjectDep, ctx: ContextDep,
                        after: After = None,
                        last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    jobs.get(ctx, project.id, job_id)
    cursor = checked_cursor(last_event_id or after)
    stream = job_events.log_of(ctx).stream(job_id)

    async def generate() -> AsyncIterator[ServerSentEvent]:
        client = redis.asyncio.Redis.from_url(ctx.settings.redis_url)
        nonlocal cursor
        try:
            while True:
                batch = await read_after(client, stream, cursor, block_ms=1000)
                for event in batch:
                    cursor = event["id"]
                    yield ServerSentEvent(data=orjson.dumps(event).decode(), id=event["id"],
                                          event=event["type"])
                    if event["type"] == "status" and event["data"].get("to") in TERMINAL:
                        yield ServerSentEvent(event="end", data=orjson.dumps(
                            {"status": event["data"]["to"]}).decode())
                        return
                if batch:
                    continue
                if await request.is_disconnected():
                    return
                current = ctx.store.get(Job, job_id)
                if current is not None and current.status in TERMINAL:
                    yield ServerSentEvent(event="end", data=orjson.dumps(
                        {"status": current.status}).decode())
                    return
        finally:
            await client.aclose()

    return EventSourceResponse(generate(), ping=HEARTBEAT_SECONDS)


@router.get("/{job_id}/metrics", response_model=None)
def get_metrics(job_id: str, project: ProjectDep, ctx: ContextDep,
                format: Annotated[Literal["json", "csv"], Query()] = "json") -> Any:
    data = job_metrics.rows(ctx, jobs.get(ctx, project.id, job_id))
    if format == "csv":
        return PlainTextResponse(job_metrics.as_csv(data), media_type="text/csv")
    return {"object": "list", "data": data}


@router.get("/{job_id}/checkpoints")
def get_checkpoints(job_id: str, project: ProjectDep, ctx: ContextDep) -> dict[str, Any]:
    jobs.get(ctx, project.id, job_id)
    data = read_json(ctx, job_id, "checkpoints")
    return {"object": "list", "data": data, "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None}
