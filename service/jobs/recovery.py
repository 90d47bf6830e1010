"""Reconcile with the provider: after a crash, or after Redis lost data, nothing is left behind."""

from collections.abc import Iterator
from itertools import islice

from service import clock
from service.context import Context
from service.jobs import index, launch
from service.jobs import service as jobs
from service.jobs.models import TERMINAL, Job
from service.logs import log
from service.projects.models import Project
from service.provider.types import FineTuningJob
from service.store import locks
from service.store.locks import LockName

PROVIDER_PAGE = 100
PROVIDER_JOBS_CHECKED = 1000


def reconcile(ctx: Context) -> dict[str, int]:
    """Make every active job due, and adopt or update the provider jobs this deployment tagged."""
    counts = {"made_due": 0, "adopted": 0, "recorded": 0}
    with locks.hold(ctx.redis, LockName.reconcile, "jobs", ttl=600) as held:
        if not held:
            return counts
        for job in ctx.store.scan(Job, None):
            if job.status not in TERMINAL and not index.is_scheduled(ctx, job.id):
                index.mark_due(ctx, job.id, clock.now())
                counts["made_due"] += 1
        for remote in provider_jobs(ctx):
            tag = (remote.metadata or {}).get("ftm_job_id")
            if not tag:
                continue
            tracked = ctx.store.get(Job, tag)
            if tracked is None:
                project_id = (remote.metadata or {}).get("ftm_project_id", "")
                if ctx.store.get(Project, project_id) is None:
                    log.warning("job.reconcile.orphan", provider_job_id=remote.id)
                    continue
                jobs.track(ctx, jobs.job_from_remote(remote, tag, project_id, "recovered"))
                counts["adopted"] += 1
            elif tracked.provider.job_id is None:
                launch.record_launch(ctx, tracked.id, remote)
                counts["recorded"] += 1
            elif tracked.status not in TERMINAL:
                index.mark_due_sooner(ctx, tracked.id, clock.now())
    if any(counts.values()):
        log.info("job.reconciled", **counts)
    return counts


def provider_jobs(ctx: Context) -> Iterator[FineTuningJob]:
    return islice(ctx.provider.list_jobs(page_size=PROVIDER_PAGE), PROVIDER_JOBS_CHECKED)
