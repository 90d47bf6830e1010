"""/v1/fine_tuning/jobs: create, list, retrieve, cancel, pause, resume, events, checkpoints."""

import base64
import math
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from emulator import job_views, webhooks
from emulator import lifecycle as lc
from emulator.curves import metrics_csv
from emulator.errors import invalid, not_found
from emulator.job_create import create_job
from emulator.parse import limit, read_json
from emulator.state import FineTunedModel, State, list_body, now, of, page

router = APIRouter(prefix="/v1/fine_tuning/jobs")


@router.post("")
async def create(request: Request) -> dict[str, Any]:
    state = of(request)
    job = await create_job(state, await read_json(request))
    state.jobs[job.id] = job
    reschedule(state, job)
    return view(state, job, now())


@router.get("")
async def list_jobs(request: Request) -> dict[str, Any]:
    state = of(request)
    wanted = metadata_filter(request)
    ids = [job_id for job_id, job in reversed(state.jobs.items())
           if wanted is None or matches(job.metadata, wanted)]
    chosen, more = page(ids, request.query_params.get("after"), limit(request))
    at = now()
    return list_body([view(state, state.jobs[i], at) for i in chosen], more)


@router.get("/{job_id}")
async def retrieve(job_id: str, request: Request) -> dict[str, Any]:
    state = of(request)
    return view(state, find(state, job_id), now())


@router.post("/{job_id}/cancel")
async def cancel(job_id: str, request: Request) -> dict[str, Any]:
    state, at = of(request), now()
    job = find(state, job_id)
    current = lc.status(job, at)
    if current in lc.TERMINAL:
        raise invalid(f"Job {job_id} has already {current} and cannot be cancelled.",
                      "fine_tuning_job_id", "invalid_job_state")
    v = lc.freeze(job, at)
    job.cancelled, job.cancelled_at = True, at
    job.actions.append((v, at, "info", "The job has been cancelled"))
    return view(state, job, at)


@router.post("/{job_id}/pause")
async def pause(job_id: str, request: Request) -> dict[str, Any]:
    state, at = of(request), now()
    job = find(state, job_id)
    if lc.status(job, at) != "running":
        raise invalid(f"Job {job_id} is {lc.status(job, at)}; only a running job can be paused.",
                      "fine_tuning_job_id", "invalid_job_state")
    v = lc.freeze(job, at)
    job.paused = True
    job.actions.append((v, at, "info", "Fine-tuning job paused"))
    return view(state, job, at)


@router.post("/{job_id}/resume")
async def resume(job_id: str, request: Request) -> dict[str, Any]:
    state, at = of(request), now()
    job = find(state, job_id)
    if lc.status(job, at) != "paused":
        raise invalid(f"Job {job_id} is {lc.status(job, at)}; only a paused job can be resumed.",
                      "fine_tuning_job_id", "invalid_job_state")
    job.paused = False
    lc.restart(job, at)
    job.actions.append((lc.clock(job, at), at, "info", "Fine-tuning job resumed"))
    reschedule(state, job)
    return view(state, job, at)


@router.get("/{job_id}/events")
async def events(job_id: str, request: Request) -> dict[str, Any]:
    rendered = job_views.events(find(of(request), job_id), now())
    return paged(rendered, request, default=20, maximum=1000)


@router.get("/{job_id}/checkpoints")
async def checkpoints(job_id: str, request: Request) -> dict[str, Any]:
    rendered = job_views.checkpoints(find(of(request), job_id), now())
    return paged(rendered, request, default=10, maximum=100)


def paged(items: list[dict[str, Any]], request: Request, default: int, maximum: int
          ) -> dict[str, Any]:
    by_id = {item["id"]: item for item in items}
    chosen, more = page(list(by_id), request.query_params.get("after"),
                        limit(request, default, maximum))
    return list_body([by_id[i] for i in chosen], more)


def find(state: State, job_id: str) -> lc.Job:
    job = state.jobs.get(job_id)
    if job is None:
        raise not_found(f"Fine-tuning job {job_id} not found.", "fine_tuning_job_id",
                        "fine_tune_not_found")
    return job


def metadata_filter(request: Request) -> dict[str, str] | None:
    """`metadata[k]=v` pairs; {} for `metadata=null` (jobs without metadata)."""
    wanted = {key[9:-1]: value for key, value in request.query_params.multi_items()
              if key.startswith("metadata[") and key.endswith("]")}
    if request.query_params.get("metadata") == "null":
        return {}
    return wanted or None


def matches(metadata: dict[str, str] | None, wanted: dict[str, str]) -> bool:
    if not wanted:
        return not metadata
    return metadata is not None and all(metadata.get(k) == v for k, v in wanted.items())


def reschedule(state: State, job: lc.Job) -> None:
    at = lc.due_at(job)
    if math.isfinite(at):
        state.schedule(at + 1e-6, "job", job.id)


def view(state: State, job: lc.Job, at: float) -> dict[str, Any]:
    """The job as the API shows it, its end recorded first so the two always agree."""
    settle_job(state, job, at)
    return job_views.render_job(job, at)


def settle_job(state: State, job: lc.Job, at: float) -> bool:
    """Once a job has ended: its result file, its model and its webhook, each exactly once."""
    if job.settled:
        return True
    current = lc.status(job, at)
    if current not in lc.TERMINAL:
        return False
    job.settled = True
    ended = job.cancelled_at if job.cancelled else lc.real_at(job, lc.end_v(job))
    if current == "succeeded":
        record_success(state, job, int(ended))
    webhooks.notify(state, f"fine_tuning.job.{current}", job.id, int(ended))
    return True


def record_success(state: State, job: lc.Job, ended: int) -> None:
    content = metrics_csv(job.points).encode()
    if state.result_file_base64:
        content = base64.b64encode(content)
    job.result_file_id = state.add_file("step_metrics.csv", "fine-tune-results", content).id
    parent = state.models.get(job.model)
    examples = (parent.examples if parent else ()) + job.training.examples
    state.models[job.fine_tuned_model] = FineTunedModel(
        job.fine_tuned_model, ended, job.base, job.id, examples)
