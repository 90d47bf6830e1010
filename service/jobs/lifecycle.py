"""Status changes: one atomic update with its status event and the jobs' indexes, then the
webhooks. Every change of a job's status is written here."""

from collections.abc import Callable
from typing import Any, NamedTuple

from redis.client import Pipeline

from service import clock
from service.context import Context
from service.errors import InvalidJobState
from service.jobs import events, index, states
from service.jobs.models import TERMINAL, Job, JobStatus
from service.webhooks.service import notify

TERMINAL_EVENTS = {JobStatus.succeeded: "job.succeeded", JobStatus.failed: "job.failed",
                   JobStatus.cancelled: "job.cancelled"}


class Written(NamedTuple):
    before: Job
    after: Job

    @property
    def moved(self) -> bool:
        return self.before.status != self.after.status


def move(ctx: Context, job_id: str, to: JobStatus, *, reason: str = "",
         update: dict[str, Any] | None = None,
         held_for: states.PendingReason | None = None) -> Job | None:
    """Move the job to `to` (held as pending for `held_for`), with `update`'s fields, its status
    event and its indexes in one transaction; None if the table does not allow it."""
    fields = update or {}
    order = index.creation_order(ctx, job_id) if held_for is not None else None
    try:
        written = write(ctx, job_id, lambda job: states.advance(job, to, held_for).evolve(**fields),
                        reason, waiting_order=order)
    except InvalidJobState:
        return None
    return written.after


def move_or_update(ctx: Context, job_id: str, to: JobStatus, *, reason: str = "",
                   update: dict[str, Any]) -> Written:
    """As move, but when the status may not move, `update`'s fields are written all the same."""
    def change(job: Job) -> Job:
        moved = states.advance(job, to) if states.can_move(job.status, to) else job
        return moved.evolve(**update)

    return write(ctx, job_id, change, reason)


def write(ctx: Context, job_id: str, change: Callable[[Job], Job], reason: str,
          waiting_order: float | None = None) -> Written:
    seen: list[Job] = []

    def also(pipe: Pipeline, old: Job, new: Job) -> None:
        seen.append(old)
        if old.status != new.status:
            record_status(ctx, pipe, old, new, reason)
        follow_indexes(ctx, pipe, old, new, waiting_order)

    job = ctx.store.update(Job, job_id, change, also_write=also)
    written = Written(seen[-1], job)
    if written.moved:
        announce(ctx, job)
    return written


def record_status(ctx: Context, pipe: Pipeline, old: Job, new: Job, reason: str) -> None:
    level = "error" if new.status == JobStatus.failed else "info"
    message = (f"Status changed from {old.status} to {new.status}"
               + (f": {reason}" if reason else ""))
    events.log_of(ctx).append_in(pipe, new.id, {
        "object": "job.event", "created_at": clock.now(), "level": level, "type": "status",
        "message": message, "data": {"from": old.status, "to": new.status}, "source": "service"})


def follow_indexes(ctx: Context, pipe: Pipeline, old: Job, new: Job,
                   waiting_order: float | None) -> None:
    """The jobs' indexes after old became new, in the same transaction."""
    index.count_status_change(ctx, old.status, new.status, pipe)
    if new.status in TERMINAL and old.status not in TERMINAL:
        index.forget_due(ctx, new.id, pipe)
        index.remove_waiting(ctx, new.id, pipe)
        index.mark_finished(ctx, new.id, clock.now(), pipe)
    if waiting_order is not None:
        index.add_waiting(ctx, new.id, waiting_order, pipe)
    provider_job_id = new.provider.job_id
    if provider_job_id is not None and provider_job_id != old.provider.job_id:
        # Launched (or recorded after a crash): followed from now on, even when it already
        # ended, so that its first sync collects the results.
        index.link_provider_job(ctx, provider_job_id, new.id, pipe)
        index.remove_waiting(ctx, new.id, pipe)
        index.mark_due(ctx, new.id, 0, pipe)


def announce(ctx: Context, job: Job) -> None:
    data = {"job": job.model_dump(mode="json", exclude={"webhook_url"})}
    notify(ctx, job.project_id, "job.status_changed", data, job.webhook_url)
    if job.status in TERMINAL_EVENTS:
        notify(ctx, job.project_id, TERMINAL_EVENTS[job.status], data, job.webhook_url)
