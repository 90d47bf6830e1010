"""/__emulator/: reset, faults, settings, inspection. No auth; never faulted or logged."""

import dataclasses
import random
from collections import Counter
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from emulator import lifecycle as lc
from emulator.errors import invalid, not_found
from emulator.files import Upload
from emulator.fine_tuning import reschedule
from emulator.signing import is_valid_secret
from emulator.state import Faults, State, now, of

router = APIRouter(prefix="/__emulator")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FailNext(Strict):
    count: int = Field(ge=0)
    status: int = Field(500, ge=400, le=599)
    method: str | None = None
    path: str | None = None  # a prefix of the request path, e.g. "/v1/fine_tuning/jobs"
    # The error object to answer with; by default the status's usual one.
    code: str | None = None
    type: str | None = None
    param: str | None = None
    message: str | None = None


class FailJobs(Strict):
    count: int = Field(ge=0)
    code: str = "server_error"
    message: str = "The job failed due to an internal error."


class FaultsUpdate(Strict):
    rate_limit_fraction: float = Field(0.0, ge=0, le=1)
    error_fraction: float = Field(0.0, ge=0, le=1)
    error_status: int = Field(500, ge=500, le=599)
    retry_after_ms: int = Field(1000, ge=0)
    latency_ms: int = Field(0, ge=0, le=60_000)
    fail_next: FailNext | None = None
    fail_next_jobs: FailJobs | None = None
    stall_next_jobs: int = Field(0, ge=0)
    active_job_limit: int | None = Field(None, ge=0)
    seed: int | None = None


class ConfigUpdate(Strict):
    speed: float | None = Field(None, gt=0)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    result_file_base64: bool | None = None


class StallRequest(Strict):
    stalled: bool = True


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    of(request).reset()
    return {"ok": True}


@router.get("/health")
async def health() -> dict[str, Any]:
    return {"ok": True}


@router.get("/faults")
async def get_faults(request: Request) -> dict[str, Any]:
    return dataclasses.asdict(of(request).faults)


@router.post("/faults")
async def set_faults(update: FaultsUpdate, request: Request) -> dict[str, Any]:
    """Change only the fields sent; the rest stay as they are."""
    state = of(request)
    for name in update.model_fields_set:
        value = getattr(update, name)
        if name == "seed":
            state.random = random.Random(value)
        elif isinstance(value, BaseModel):
            setattr(state.faults, name, value.model_dump())
        else:
            setattr(state.faults, name, value)
    return dataclasses.asdict(state.faults)


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, Any]:
    state = of(request)
    state.faults = Faults()
    return dataclasses.asdict(state.faults)


@router.get("/config")
async def get_config(request: Request) -> dict[str, Any]:
    return config(of(request))


@router.post("/config")
async def set_config(update: ConfigUpdate, request: Request) -> dict[str, Any]:
    """Speed applies to jobs and batches created afterwards; webhooks to events after."""
    state = of(request)
    if update.webhook_secret is not None and not is_valid_secret(update.webhook_secret):
        raise invalid("webhook_secret must be 'whsec_' followed by base64.", "webhook_secret")
    for name in update.model_fields_set:
        setattr(state, name, getattr(update, name))
    return config(state)


def config(state: State) -> dict[str, Any]:
    return {"speed": state.speed, "webhook_url": state.webhook_url,
            "webhook_secret_set": bool(state.webhook_secret),
            "result_file_base64": state.result_file_base64}


@router.post("/jobs/{job_id}/stall")
async def stall_job(job_id: str, request: Request, body: StallRequest | None = None
                    ) -> dict[str, Any]:
    """Freeze a job where it is (stalled: true) or let it go on (stalled: false)."""
    state, at = of(request), now()
    job = state.jobs.get(job_id)
    if job is None:
        raise not_found(f"Fine-tuning job {job_id} not found.", "job_id")
    if (body or StallRequest()).stalled:
        lc.stall(job, at)
    else:
        lc.unstall(job, at)
        reschedule(state, job)
    return {"id": job.id, "stalled": job.stall_v is not None, "status": lc.status(job, at)}


PAUSE_ACTIONS = {"Fine-tuning job paused": "paused", "Fine-tuning job resumed": "running"}


@router.get("/jobs")
async def jobs_log(request: Request) -> dict[str, Any]:
    """Every fine-tuning job with its status now and when it entered each status so far."""
    state, at = of(request), now()
    return {"object": "list", "data": [
        {"id": job.id, "status": lc.status(job, at), "metadata": job.metadata,
         "status_history": status_history(job, at)} for job in state.jobs.values()]}


def status_history(job: lc.Job, at: float) -> list[dict[str, Any]]:
    """[{status, at}] oldest first; `at` is the real time (Unix seconds, float) of the change."""
    marks = [(0.0, "validating_files"), (lc.VALIDATING, "queued"), (lc.START, "running"),
             (lc.done_v(job), "succeeded")]
    failed = lc.fail_v(job)
    if failed is not None:
        marks = [(v, name) for v, name in marks if v < failed] + [(failed, "failed")]
    reached = lc.clock(job, at)
    changes = [(lc.real_at(job, v), name) for v, name in marks if v <= reached]
    for _, real, _, message in job.actions:
        if message in PAUSE_ACTIONS:
            changes.append((real, PAUSE_ACTIONS[message]))
    if job.cancelled:
        changes.append((job.cancelled_at, "cancelled"))
    return [{"status": name, "at": real} for real, name in sorted(changes)]


@router.get("/requests")
async def requests_log(request: Request) -> dict[str, Any]:
    """The newest /v1 requests, oldest first; filter by path prefix and method."""
    state, query = of(request), request.query_params
    prefix, method = query.get("path", ""), query.get("method")
    found = [e for e in state.requests if e["path"].startswith(prefix)
             and (method is None or e["method"] == method)]
    limit = int(query.get("limit", "1000"))
    return {"object": "list", "data": found[-limit:], "total": state.request_total}


@router.get("/webhooks")
async def webhook_deliveries(request: Request) -> dict[str, Any]:
    return {"object": "list", "data": list(of(request).webhook_deliveries)}


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    state, at = of(request), now()
    uploads: list[Upload] = list(state.uploads.values())
    return {
        "files": {"total": len(state.files),
                  "by_purpose": dict(Counter(f.purpose for f in state.files.values()))},
        "uploads": {"total": len(uploads),
                    "by_status": dict(Counter(u.render(state)["status"] for u in uploads))},
        "jobs": {"total": len(state.jobs),
                 "by_status": dict(Counter(lc.status(j, at) for j in state.jobs.values())),
                 "by_model": dict(Counter(j.model for j in state.jobs.values()))},
        "models": {"fine_tuned": sum(1 for m in state.models.values() if not m.deleted),
                   "deleted": sum(1 for m in state.models.values() if m.deleted)},
        "batches": {"total": len(state.batches),
                    "by_status": dict(Counter(b.status(at) for b in state.batches.values()))},
        "chat_completions": counter(state.chat_completions),
        "embeddings": counter(state.embeddings),
        "batch_requests": counter(state.batch_requests),
        "requests": {"total": state.request_total},
        "webhooks": {"sent": len(state.webhook_deliveries),
                     "delivered": sum(1 for d in state.webhook_deliveries if d["delivered"])}}


def counter(counts: Counter[str]) -> dict[str, Any]:
    return {"total": sum(counts.values()), "by_model": dict(counts)}
