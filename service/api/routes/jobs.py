from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import WithJsonSchema
from sse_starlette import EventSourceResponse, ServerSentEvent

from service.api.deps import BEARER, ContextDep, ProjectDep, caller_project
from service.api.openapi import problems, server_sent_events
from service.api.pagination import After, Limit
from service.errors import InvalidCursor
from service.jobs import events as job_events
from service.jobs import index as job_index
from service.jobs import metrics as job_metrics
from service.jobs import service as jobs
from service.jobs.models import (
    TERMINAL,
    Checkpoint,
    DryRun,
    Job,
    JobCreate,
    JobEvent,
    JobImport,
    JobMetrics,
    JobStatus,
)
from service.pagination import Page, take_page, whole_page
from service.store.events import PREFIX, follow, is_valid_id

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
HEARTBEAT_SECONDS = 15


def job_response(job: Job, status: int) -> JSONResponse:
    return JSONResponse(job.model_dump(mode="json"), status,
                        headers={"Location": f"/v1/jobs/{job.id}"})


@router.post("", status_code=202, responses={200: {"model": DryRun}, 202: {"model": Job},
                                            **problems(404, 409)})
def create_job(body: JobCreate, project: ProjectDep, ctx: ContextDep) -> Response:
    created = jobs.create(ctx, project, body)
    if isinstance(created, DryRun):
        return JSONResponse(created.model_dump(mode="json"), 200)
    return job_response(created, 202)


@router.post("/import", status_code=202, response_model=Job, responses=problems(404, 409, 502))
def import_job(body: JobImport, project: ProjectDep, ctx: ContextDep) -> Response:
    return job_response(jobs.import_job(ctx, project, body), 202)


@router.get("", response_model=Page[Job])
def list_jobs(request: Request, project: ProjectDep, ctx: ContextDep, limit: Limit = 20,
              after: After = None, status: JobStatus | None = None,
              model: str | None = None) -> Page[Job]:
    metadata = {key[len("metadata["):-1]: value for key, value in request.query_params.items()
                if key.startswith("metadata[") and key.endswith("]")}
    return jobs.page(ctx, project.id, limit, after, status, model, metadata)


@router.get("/{job_id}", response_model=Job, openapi_extra=BEARER)
async def get_job(job_id: str, request: Request) -> Response:
    # The hottest read: on the event loop (no thread hop), no dependency to resolve,
    # serialized once (no second validation against response_model).
    project = await caller_project(request)
    job = await jobs.get_on_loop(request.app.state.async_redis, project.id, job_id)
    return Response(job.model_dump_json(), media_type="application/json")


@router.post("/{job_id}/cancel", status_code=202, response_model=Job, responses=problems(409))
def cancel_job(job_id: str, project: ProjectDep, ctx: ContextDep) -> Response:
    """Cancel the job: at once while nothing runs at the provider, else at the provider."""
    return job_response(jobs.cancel(ctx, project.id, job_id), 202)


@router.post("/{job_id}/pause", status_code=202, response_model=Job, responses=problems(409))
def pause_job(job_id: str, project: ProjectDep, ctx: ContextDep) -> Response:
    """Pause a running job at the provider; its status becomes `paused` at the next sync."""
    return job_response(jobs.pause(ctx, project.id, job_id), 202)


@router.post("/{job_id}/resume", status_code=202, response_model=Job, responses=problems(409))
def resume_job(job_id: str, project: ProjectDep, ctx: ContextDep) -> Response:
    """Resume a paused job at the provider."""
    return job_response(jobs.resume(ctx, project.id, job_id), 202)


# What is_valid_id takes (two 64-bit numbers), a little more narrowly.
EVENT_ID_PATTERN = rf"^{PREFIX}[0-9]{{1,19}}(-[0-9]{{1,19}})?$"
# Sent as a string or not at all: the schema says so rather than offer null.
EVENT_ID_SCHEMA = WithJsonSchema({"type": "string", "pattern": EVENT_ID_PATTERN,
                                  "examples": ["ev_1733011200000-0"]})
EventCursor = Annotated[str | None, Query(
    description="The id of the last event seen (from the previous page or stream)."),
    EVENT_ID_SCHEMA]


def checked_cursor(after: str | None) -> str | None:
    if after is not None and not is_valid_id(after):
        raise InvalidCursor(f"{after!r} is not an event id.",
                            errors=[{"field": "query.after", "message": "not an event id"}])
    return after


@router.get("/{job_id}/events")
def list_job_events(job_id: str, project: ProjectDep, ctx: ContextDep,
                    after: EventCursor = None, limit: Limit = 20) -> Page[JobEvent]:
    jobs.get(ctx, project.id, job_id)
    found = job_events.log_of(ctx).after(job_id, checked_cursor(after), limit + 1)
    return take_page(map(JobEvent.model_validate, found), limit)


@router.get("/{job_id}/events/stream", response_class=EventSourceResponse,
            responses={200: {"content": server_sent_events(
                "Each event: `id` the event id, `event` its type (or `end`), `data` its JSON.")}})
async def stream_job_events(job_id: str, request: Request, project: ProjectDep, ctx: ContextDep,
                        after: EventCursor = None,
                        last_event_id: Annotated[str | None, Header(), EVENT_ID_SCHEMA] = None,
                        ) -> EventSourceResponse:
    jobs.get(ctx, project.id, job_id)
    cursor = checked_cursor(last_event_id or after)
    stream = job_events.log_of(ctx).stream(job_id)

    async def generate() -> AsyncIterator[ServerSentEvent]:
        async with aclosing(follow(ctx.settings.redis_url, stream, cursor,
                                   block_ms=1000)) as followed:
            async for event in followed:
                if event is None:  # a quiet while: is anyone still there, has the job ended?
                    if await request.is_disconnected():
                        return
                    current = ctx.store.get(Job, job_id)
                    if current is not None and current.status in TERMINAL:
                        yield ending(current.status)
                        return
                    continue
                yield ServerSentEvent(data=orjson.dumps(event).decode(), id=event["id"],
                                      event=event["type"])
                if event["type"] == "status" and event["data"].get("to") in TERMINAL:
                    yield ending(event["data"]["to"])
                    return

    return EventSourceResponse(generate(), ping=HEARTBEAT_SECONDS)


def ending(status: str) -> ServerSentEvent:
    """The last message of a job's event stream: the job ended, with this status."""
    return ServerSentEvent(event="end", data=orjson.dumps({"status": status}).decode())


@router.get("/{job_id}/metrics", response_model=JobMetrics,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def get_job_metrics(job_id: str, project: ProjectDep, ctx: ContextDep,
                    format: Annotated[Literal["json", "csv"], Query()] = "json") -> Any:
    """The loss curve by step; `format=csv` gives OpenAI's step_metrics.csv columns."""
    data = job_metrics.rows(ctx, jobs.get(ctx, project.id, job_id))
    if format == "csv":
        return PlainTextResponse(job_metrics.as_csv(data), media_type="text/csv")
    return JobMetrics.model_validate({"data": data})


@router.get("/{job_id}/checkpoints")
def list_job_checkpoints(job_id: str, project: ProjectDep, ctx: ContextDep) -> Page[Checkpoint]:
    jobs.get(ctx, project.id, job_id)
    return whole_page([Checkpoint.model_validate(item)
                       for item in job_index.checkpoints(ctx, job_id)])
