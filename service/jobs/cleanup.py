"""Delete the provider copies of datasets once every job that used them ended long enough ago.

With `provider_file_retention_seconds` unset (the default) provider files are kept. A file is
shared by every job of its dataset, so it goes only when none of them is active or ended
within the retention; a later job uploads the dataset again.
"""

import contextlib

from service import clock
from service.context import Context
from service.datasets.models import Dataset
from service.errors import ProviderRejected
from service.jobs import index
from service.jobs.models import TERMINAL, Job
from service.logs import log
from service.store import locks
from service.store.locks import LockName

BATCH = 100


def delete_expired_provider_files(ctx: Context) -> int:
    """Delete what has expired; answer how many provider files were deleted."""
    retention = ctx.settings.provider_file_retention_seconds
    if retention is None:
        return 0
    cutoff = clock.now() - retention
    deleted = 0
    for job_id in index.finished_before(ctx, cutoff, BATCH):
        job = ctx.store.get(Job, job_id)
        if job is not None:
            for dataset_id in filter(None, (job.training_dataset, job.validation_dataset)):
                deleted += delete_if_unused(ctx, job.project_id, dataset_id, cutoff)
        index.forget_finished(ctx, job_id)
    return deleted


def delete_if_unused(ctx: Context, project_id: str, dataset_id: str, cutoff: int) -> int:
    dataset = ctx.store.get(Dataset, dataset_id)
    if dataset is None or not dataset.provider_files:
        return 0
    for job in ctx.store.scan(Job, project_id):
        if dataset_id in (job.training_dataset, job.validation_dataset) and (
                job.status not in TERMINAL or (job.finished_at or 0) > cutoff):
            return 0  # still needed; the later job's own expiry comes back for it
    with locks.hold(ctx.redis, LockName.upload, dataset_id,
                    ttl=ctx.settings.launch_lock_seconds) as held:
        if not held:
            return 0
        for file_id in dataset.provider_files.values():
            with contextlib.suppress(ProviderRejected):  # already gone on the provider
                ctx.provider.delete_file(file_id)
        ctx.store.update(Dataset, dataset_id, lambda d: d.evolve(provider_files={}))
    log.info("dataset.provider_files_deleted", dataset_id=dataset_id,
             files=list(dataset.provider_files.values()))
    return len(dataset.provider_files)
