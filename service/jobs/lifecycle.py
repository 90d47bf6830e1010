"""Status changes: one atomic update with its status event, then the webhooks."""

from typing import Any

from redis.client import Pipeline

from service import clock
from service.context import Context
from service.errors import InvalidJobState
from service.jobs import events, states
from service.jobs.models import TERMINAL, Job, JobStatus
from service.store import keys
from service.webhooks.service import notify

TERMINAL_EVENTS = {JobStatus.succeeded: "job.succeeded", JobStatus.failed: "job.failed",
                   JobStatus.cancelled: "job.cancelled"}


def move(ctx: Context, job_id: str, to: JobStatus, *, reason: str = "",
         update: dict[str, Any] | None = None) -> Job | None:
    """Move the job to `to` with its status event in one transaction; None if not allowed."""
    def change(job: Job) -> Job:
        return states.advance(job, to).model_copy(update=update or {})

    def also(pipe: Pipeline, old: Job, new: Job) -> None:
        level = "error" if to == JobStatus.failed else "info"
        message = f"Status changed from {old.status} to {to}" + (f": {reason}" if reason else "")
        events.log_of(ctx).append_in(pipe, job_id, {
            "object": "job.event", "created_at": clock.now(), "level": level, "type": "status",
            "message": message, "data": {"from": old.status, "to": to}, "source": "service"})
        if old.status != to:
            pipe.hincrby(keys.jobs_by_status(), old.status, -1)
            pipe.hincrby(keys.jobs_by_status(), to, 1)
        if to in TERMINAL:
            pipe.zrem(keys.jobs_due(), job_id)
            pipe.zrem(keys.jobs_waiting_capacity(), job_id)
            pipe.zadd(keys.jobs_finished(), {job_id: clock.now()})

    try:
        job = ctx.store.update(Job, job_id, change, also_write=also)
    except InvalidJobState:
        return None
    announce(ctx, job)
    return job


def announce(ctx: Context, job: Job) -> None:
    data = {"job": job.model_dump(mode="json", exclude={"webhook_url"})}
    notify(ctx, job.project_id, "job.status_changed", data, job.webhook_url)
    if job.status in TERMINAL_EVENTS:
        notify(ctx, job.project_id, TERMINAL_EVENTS[job.status], data, job.webhook_url)
