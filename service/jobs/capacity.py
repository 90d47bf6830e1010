"""Provider capacity: a job the provider refused for capacity waits as pending, and jobs of a
model launch in creation order once it has room again."""

from service.context import Context
from service.jobs import index, lifecycle, states
from service.jobs.models import TERMINAL, Job, JobStatus
from service.logs import log
from service.tasks import Task

RETRIED_PER_SWEEP = 200


def is_behind_capacity_queue(ctx: Context, job: Job) -> bool:
    """Jobs refused for capacity launch in creation order: a later one waits behind them."""
    for other_id in index.waiting_up_to(ctx, index.creation_order(ctx, job.id)):
        if other_id == job.id:
            return False
        other = ctx.store.get(Job, other_id)
        if other is not None and other.model == job.model:
            wait_for_capacity(ctx, job.id, f"waiting behind {other_id} for provider capacity")
            return True
    return False


def wait_for_capacity(ctx: Context, job_id: str, why: str) -> None:
    """Hold the job as pending until the provider has room; the sweep retries in order."""
    held = lifecycle.move(ctx, job_id, JobStatus.pending, reason=why,
                          held_for=states.PROVIDER_CAPACITY)
    if held is not None:
        log.info("job.launch.waiting_for_capacity", job_id=job_id, reason=why)


def retry_waiting(ctx: Context) -> list[str]:
    """Queue a launch for the oldest job waiting for capacity, per model."""
    heads: dict[str, str] = {}
    for job_id in index.waiting(ctx, RETRIED_PER_SWEEP):
        job = ctx.store.get(Job, job_id)
        if job is None or job.status in TERMINAL or job.provider.job_id:
            index.remove_waiting(ctx, job_id)
            continue
        heads.setdefault(job.model, job.id)
    for job_id in heads.values():
        ctx.enqueue(Task.launch_job, job_id)
    return list(heads.values())
