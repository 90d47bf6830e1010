"""Create the provider job for a service job at most once, whatever crashes or retries happen.

Each dataset is uploaded to the provider at most once: its file id is recorded on the dataset
as soon as it exists, and a file left by a crash before that is found again by its name. The
provider job is tagged with metadata.ftm_job_id and looked for before one is created.
"""

import time

from redis.client import Pipeline

from service import clock, faults
from service.context import Context
from service.datasets.models import Dataset
from service.errors import (
    ProviderCapacity,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from service.jobs import events, lifecycle, schedule
from service.jobs.models import TERMINAL, Job, JobError, JobStatus, ProviderRef
from service.jobs.service import provider_request
from service.logs import log
from service.provider.types import FileObject, FineTuningJob
from service.store import keys, locks
from service.tasks import Task

PROVIDER = "openai"


class FileNotProcessed(Exception):
    """The provider could not process an uploaded file."""


def run(ctx: Context, job_id: str) -> None:
    """Launch job_id: upload its datasets, create its provider job, record both. Safe to rerun."""
    with locks.hold_renewed(ctx.redis, "launch", job_id, ctx.settings.launch_lock_seconds) as held:
        if not held:
            return  # another worker has it; the lock expires if that one died
        job = ctx.store.get(Job, job_id)
        if job is None or job.status in TERMINAL or job.provider.job_id:
            return
        if is_behind_capacity_queue(ctx, job):
            return
        try:
            launch(ctx, job)
        except ProviderCapacity as exc:
            wait_for_capacity(ctx, job_id, exc.detail)
        except (ProviderRejected, FileNotProcessed) as exc:
            error = JobError(code=getattr(exc, "provider_code", None) or "launch_rejected",
                             message=str(exc), param=getattr(exc, "param", None))
            lifecycle.move(ctx, job_id, JobStatus.failed, reason=str(exc),
                           update={"error": error})
        except (ProviderUnavailable, ProviderRateLimited) as exc:
            log.warning("job.launch.retry_later", job_id=job_id, error=exc.code)
            ctx.enqueue(Task.launch_job, job_id, delay=ctx.settings.provider_retry_seconds)


def launch(ctx: Context, job: Job) -> None:
    if job.status == JobStatus.pending:
        job = lifecycle.move(ctx, job.id, JobStatus.preparing,
                             reason="uploading files to the provider") or job
    training_file = ensure_uploaded(ctx, job.training_dataset)
    faults.point(ctx, "launch.after_upload")
    validation_file = (ensure_uploaded(ctx, job.validation_dataset)
                       if job.validation_dataset else None)
    wait_until_processed(ctx, [f for f in (training_file, validation_file) if f])
    remote = find_provider_job(ctx, job.id)
    if remote is None:
        current = ctx.store.get(Job, job.id)
        if current is None or current.status in TERMINAL:
            return  # cancelled while uploading: nothing was created
        request = provider_request(current, training_file, validation_file)
        remote = ctx.provider.create_job(request)
        log.info("job.launch.created_provider_job", job_id=job.id, provider_job_id=remote.id)
    else:
        log.info("job.launch.reused_provider_job", job_id=job.id, provider_job_id=remote.id)
    faults.point(ctx, "launch.after_create")
    record_launch(ctx, job.id, remote)


def find_provider_job(ctx: Context, job_id: str) -> FineTuningJob | None:
    return ctx.provider.find_job({"ftm_job_id": job_id})


def record_launch(ctx: Context, job_id: str, remote: FineTuningJob) -> None:
    """Record the provider job on the service job and make it due for its first sync."""
    provider = ProviderRef(job_id=remote.id, training_file=remote.training_file,
                           validation_file=remote.validation_file,
                           result_files=list(remote.result_files or []))
    ctx.redis.set(keys.job_by_provider(remote.id), job_id)
    ctx.redis.zrem(keys.jobs_waiting_capacity(), job_id)
    target = status_from_provider(remote.status)
    moved = lifecycle.move(ctx, job_id, target, reason=f"provider job {remote.id}",
                           update={"provider": provider, "pending_reason": None})
    if moved is None:
        job = ctx.store.update(Job, job_id, lambda j: j.model_copy(update={"provider": provider}))
        if job.status == JobStatus.cancelled and remote.status not in TERMINAL:
            log.info("job.launch.cancel_late_provider_job", job_id=job_id)
            ctx.provider.cancel_job(remote.id)
    schedule.mark_due(ctx, job_id, 0)


def status_from_provider(status: str) -> JobStatus:
    return JobStatus(status) if status in JobStatus.__members__ else JobStatus.running


def ensure_uploaded(ctx: Context, dataset_id: str) -> str:
    """The provider file id of the dataset, uploading it the first time only."""
    known = ctx.store.get(Dataset, dataset_id)
    if known is not None and PROVIDER in known.provider_files:
        if is_on_provider(ctx, known.provider_files[PROVIDER]):
            return known.provider_files[PROVIDER]
        forget_provider_file(ctx, dataset_id, known.provider_files[PROVIDER])
    with locks.hold_renewed(ctx.redis, "upload", dataset_id,
                            ctx.settings.launch_lock_seconds) as held:
        if not held:
            raise ProviderUnavailable(f"Dataset {dataset_id} is being uploaded by another worker.")
        dataset = ctx.store.get(Dataset, dataset_id)
        if dataset is None:
            raise ProviderRejected(f"Dataset {dataset_id} no longer exists.")
        if PROVIDER in dataset.provider_files:
            return dataset.provider_files[PROVIDER]
        name = provider_filename(dataset)
        uploaded = (ctx.provider.find_file("fine-tune", name, dataset.bytes)
                    or upload(ctx, dataset, name))
        faults.point(ctx, "launch.before_recording_file")
        ctx.store.update(Dataset, dataset_id, lambda d: d.model_copy(
            update={"provider_files": {**d.provider_files, PROVIDER: uploaded.id}}))
        log.info("dataset.uploaded_to_provider", dataset_id=dataset_id, file_id=uploaded.id)
        return uploaded.id


def is_on_provider(ctx: Context, file_id: str) -> bool:
    try:
        ctx.provider.retrieve_file(file_id)
    except ProviderRejected as exc:
        if exc.provider_status == 404:
            return False
        raise
    return True


def forget_provider_file(ctx: Context, dataset_id: str, file_id: str) -> None:
    """The provider lost the dataset's file: the next launch uploads it again."""
    def drop(dataset: Dataset) -> Dataset:
        files = {k: v for k, v in dataset.provider_files.items() if v != file_id}
        return dataset.model_copy(update={"provider_files": files})

    ctx.store.update(Dataset, dataset_id, drop)
    log.warning("dataset.provider_file_gone", dataset_id=dataset_id, file_id=file_id)


def provider_filename(dataset: Dataset) -> str:
    return f"ftm-{dataset.id}.jsonl"


def upload(ctx: Context, dataset: Dataset, name: str) -> FileObject:
    if dataset.bytes > ctx.settings.openai_uploads_api_above_bytes:
        return upload_in_parts(ctx, dataset, name)
    with ctx.storage.reader(dataset.storage_name) as file:
        return ctx.provider.upload_file(name, file, purpose="fine-tune")


def upload_in_parts(ctx: Context, dataset: Dataset, name: str) -> FileObject:
    """OpenAI's Uploads API: for files too large for one request."""
    with ctx.storage.reader(dataset.storage_name) as file:
        done = ctx.provider.upload_in_parts(name, file, dataset.bytes, purpose="fine-tune")
    if done.file is None:
        raise FileNotProcessed(f"The provider did not complete upload {done.id}.")
    return done.file


def wait_until_processed(ctx: Context, file_ids: list[str]) -> None:
    deadline = time.monotonic() + ctx.settings.file_processing_timeout_seconds
    for file_id in file_ids:
        while True:
            file = ctx.provider.retrieve_file(file_id)
            if file.status == "processed":
                break
            if file.status == "error":
                raise FileNotProcessed(f"The provider could not process {file_id}: "
                                       f"{file.status_details or 'no details'}.")
            if time.monotonic() > deadline:
                raise ProviderUnavailable(f"The provider has not processed {file_id} yet.")
            time.sleep(1)


def is_behind_capacity_queue(ctx: Context, job: Job) -> bool:
    """Jobs refused for capacity launch in creation order: a later one waits behind them."""
    created = creation_order(ctx, job.id)
    waiting = ctx.redis.zrangebyscore(keys.jobs_waiting_capacity(), "-inf", created)
    for raw_id in waiting:
        other_id = raw_id.decode()
        if other_id == job.id:
            return False
        other = ctx.store.get(Job, other_id)
        if other is not None and other.model == job.model:
            wait_for_capacity(ctx, job.id, f"waiting behind {other_id} for provider capacity")
            return True
    return False


def creation_order(ctx: Context, job_id: str) -> float:
    """When the job was created, to the microsecond (its index score), not in whole seconds."""
    return ctx.redis.zscore(keys.all_index(Job.kind), job_id) or 0.0


def wait_for_capacity(ctx: Context, job_id: str, why: str) -> None:
    """Hold the job as pending until the provider has room; the sweep retries in order."""
    def hold(job: Job) -> Job:
        # The one move back (preparing → pending): the provider has no room for it yet.
        return job.model_copy(update={"status": JobStatus.pending, "updated_at": clock.now(),
                                      "pending_reason": "provider_capacity"})

    def count(pipe: Pipeline, old: Job | None, new: Job) -> None:
        if old is not None and old.status != new.status:
            pipe.hincrby(keys.jobs_by_status(), old.status, -1)
            pipe.hincrby(keys.jobs_by_status(), new.status, 1)

    before = ctx.store.get(Job, job_id)
    ctx.store.update(Job, job_id, hold, count)
    if before is not None and before.status != JobStatus.pending:
        events.record_status(ctx, job_id, before.status, JobStatus.pending, why)
    ctx.redis.zadd(keys.jobs_waiting_capacity(), {job_id: creation_order(ctx, job_id)}, nx=True)
    log.info("job.launch.waiting_for_capacity", job_id=job_id, reason=why)


def retry_waiting(ctx: Context) -> list[str]:
    """Queue a launch for the oldest job waiting for capacity, per model."""
    heads: dict[str, str] = {}
    for raw_id in ctx.redis.zrange(keys.jobs_waiting_capacity(), 0, 199):
        job = ctx.store.get(Job, raw_id.decode())
        if job is None or job.status in TERMINAL or job.provider.job_id:
            ctx.redis.zrem(keys.jobs_waiting_capacity(), raw_id)
            continue
        heads.setdefault(job.model, job.id)
    for job_id in heads.values():
        ctx.enqueue(Task.launch_job, job_id)
    return list(heads.values())


def pending_without_launch(job: Job, now: int, after_seconds: int) -> bool:
    """A job whose launch was lost (a worker died): the sweep queues it again."""
    return (job.status in (JobStatus.pending, JobStatus.preparing) and job.provider.job_id is None
            and job.pending_reason is None and now - job.updated_at > after_seconds)


