"""Create the provider job for a service job at most once, whatever crashes or retries happen.

Each dataset is uploaded to the provider at most once: its file id is recorded on the dataset
as soon as it exists, and a file left by a crash before that is found again by its name. The
provider job is tagged with metadata.ftm_job_id and looked for before one is created.
"""

import time

from service import faults
from service.context import Context
from service.datasets.models import Dataset
from service.errors import (
    ProviderCapacity,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from service.jobs import capacity, lifecycle, states
from service.jobs.models import TERMINAL, Job, JobError, JobStatus, ProviderRef
from service.jobs.service import provider_request
from service.logs import log
from service.provider.types import FileObject, FineTuningJob
from service.store import locks
from service.store.locks import LockName
from service.tasks import Task

PROVIDER = "openai"


class FileNotProcessed(Exception):
    """The provider could not process an uploaded file."""


def run(ctx: Context, job_id: str) -> None:
    """Launch job_id: upload its datasets, create its provider job, record both. Safe to rerun."""
    with locks.hold_renewed(ctx.redis, LockName.launch, job_id,
                            ctx.settings.launch_lock_seconds) as held:
        if not held:
            return  # another worker has it; the lock expires if that one died
        job = ctx.store.get(Job, job_id)
        if job is None or job.status in TERMINAL or job.provider.job_id:
            return
        if capacity.is_behind_capacity_queue(ctx, job):
            return
        try:
            launch(ctx, job)
        except ProviderCapacity as exc:
            capacity.wait_for_capacity(ctx, job_id, exc.detail)
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
    """Record the provider job on the service job, which makes it due for its first sync."""
    provider = ProviderRef(job_id=remote.id, training_file=remote.training_file,
                           validation_file=remote.validation_file,
                           result_files=list(remote.result_files or []))
    job = lifecycle.move_or_update(ctx, job_id, states.from_provider(remote.status),
                                   reason=f"provider job {remote.id}",
                                   update={"provider": provider, "pending_reason": None}).after
    if job.status == JobStatus.cancelled and remote.status not in TERMINAL:
        log.info("job.launch.cancel_late_provider_job", job_id=job_id)
        ctx.provider.cancel_job(remote.id)


def ensure_uploaded(ctx: Context, dataset_id: str) -> str:
    """The provider file id of the dataset, uploading it the first time only."""
    known = ctx.store.get(Dataset, dataset_id)
    if known is not None and PROVIDER in known.provider_files:
        if is_on_provider(ctx, known.provider_files[PROVIDER]):
            return known.provider_files[PROVIDER]
        forget_provider_file(ctx, dataset_id, known.provider_files[PROVIDER])
    with locks.hold_renewed(ctx.redis, LockName.upload, dataset_id,
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
        ctx.store.update(Dataset, dataset_id, lambda d: d.evolve(
            provider_files={**d.provider_files, PROVIDER: uploaded.id}))
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
        return dataset.evolve(provider_files=files)

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
