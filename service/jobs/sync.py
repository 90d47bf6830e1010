"""Follow launched jobs: a sweep claims the due ones; each sync pulls status, events, metrics,
checkpoints and, at the end, the result file and the fine-tuned model."""

import csv
import io
import math
from dataclasses import dataclass
from typing import Any

from rq.timeouts import JobTimeoutException

from service import clock
from service.context import Context
from service.datasets.pricing import load_prices
from service.errors import ProviderError, ProviderRejected
from service.finetuned import registry
from service.jobs import capacity, events, index, lifecycle, states
from service.jobs.models import TERMINAL, Job, JobAction, JobError, JobProgress, JobStatus
from service.logs import log
from service.metrics import SYNC_LAG
from service.provider.types import FineTuningJob, FineTuningJobEvent
from service.store import locks
from service.store.locks import LockName
from service.store.records import evolve
from service.tasks import Task
from service.webhooks.service import notify

LEASE_SECONDS = 120
BATCH = 500
EVENT_PAGE = 100
REQUESTS_PER_SYNC = 2
SYNCS_PER_TASK = 10  # a task costs a worker a fork: one per job would cost more than the sync


def sweep(ctx: Context) -> int:
    """Queue syncs for the due jobs, a few a task; each job is leased so a lost task costs one
    lease, not a job."""
    now = clock.now_precise()
    due = index.claim_due(ctx, now, BATCH, now + LEASE_SECONDS)
    claimed = [job_id for job_id, _ in due]
    for _, due_at in due:
        SYNC_LAG.observe(max(0.0, now - due_at))
    for start in range(0, len(claimed), SYNCS_PER_TASK):
        ctx.enqueue(Task.sync_jobs, claimed[start:start + SYNCS_PER_TASK],
                    job_timeout=LEASE_SECONDS)
    capacity.retry_waiting(ctx)
    return len(claimed)


def sync_each(ctx: Context, job_ids: list[str]) -> None:
    """Sync the jobs in turn; one that breaks does not hold up the rest (its lease retries it)."""
    for job_id in job_ids:
        try:
            sync(ctx, job_id)
        except JobTimeoutException:
            raise  # the task's time is up: the jobs left come back when their leases end
        except Exception:
            log.exception("job.sync.crashed", job_id=job_id)


def make_due_by_provider_job(ctx: Context, provider_job_id: str) -> bool:
    """An inbound provider webhook: sync that job at once."""
    job_id = index.job_of_provider_job(ctx, provider_job_id)
    if job_id is None:
        return False
    index.mark_due(ctx, job_id, 0)
    ctx.enqueue(Task.sync_job, job_id)
    return True


def sync(ctx: Context, job_id: str) -> None:
    """Bring one job up to date with the provider, then set when it is due next."""
    with locks.hold(ctx.redis, LockName.sync, job_id, ttl=LEASE_SECONDS) as held:
        if not held:
            return
        job = ctx.store.get(Job, job_id)
        if job is None or (job.status in TERMINAL and job.provider.job_id is None):
            index.forget_due(ctx, job_id)
            return
        if job.provider.job_id is None:
            recover_launch(ctx, job)
            return
        try:
            job = sync_launched(ctx, job)
        except ProviderError as exc:
            if is_missing(exc) and fail_when_gone(ctx, job):
                return
            failures = job.sync_errors + 1
            ctx.store.update(Job, job_id, lambda j: j.evolve(sync_errors=failures))
            log.warning("job.sync.failed", job_id=job_id, error=exc.code, failures=failures)
            backoff = ctx.settings.provider_retry_seconds * 2 ** (failures - 1)
            index.mark_due(ctx, job_id, clock.now_precise() + min(300, backoff))
            return
        if job.status in TERMINAL:
            index.forget_due(ctx, job_id)
        else:
            index.mark_due(ctx, job_id, clock.now_precise() + interval(ctx, job))


def is_missing(exc: ProviderError) -> bool:
    return isinstance(exc, ProviderRejected) and exc.provider_status == 404


def fail_when_gone(ctx: Context, job: Job) -> bool:
    """A provider job answering 404 for longer than the grace period is gone (the provider lost
    it): the job fails with provider_job_not_found. Answer whether it did."""
    noticed = ctx.store.update(Job, job.id, lambda j: j if j.provider_missing_since is not None
                               else j.evolve(provider_missing_since=clock.now()))
    missing_for = clock.now() - (noticed.provider_missing_since or clock.now())
    if missing_for < ctx.settings.provider_missing_grace_seconds:
        return False
    message = (f"The provider has had no job {job.provider.job_id} for {missing_for} s; it was "
               "lost on the provider's side.")
    lifecycle.move(ctx, job.id, JobStatus.failed, reason=message, update={
        "error": JobError(code="provider_job_not_found", message=message, param=None),
        "provider_missing_since": None})
    index.forget_due(ctx, job.id)
    log.warning("job.sync.provider_job_gone", job_id=job.id, missing_seconds=missing_for)
    return True


def recover_launch(ctx: Context, job: Job) -> None:
    if (states.pending_without_launch(job, clock.now(), ctx.settings.launch_lock_seconds)
            and not locks.is_held(ctx.redis, LockName.launch, job.id)):
        log.info("job.launch.requeued", job_id=job.id)
        ctx.enqueue(Task.launch_job, job.id)
    # A launch counts as lost only launch_lock_seconds after the job last changed: look no sooner.
    lost_at = job.updated_at + ctx.settings.launch_lock_seconds + 1
    index.mark_due(ctx, job.id,
                   max(clock.now() + ctx.settings.sync_interval_queued_seconds, lost_at))


def interval(ctx: Context, job: Job) -> float:
    """Seconds while running, longer while waiting; never faster than the rate cap allows."""
    settings = ctx.settings
    base = (settings.sync_interval_running_seconds if job.status == JobStatus.running
            else settings.sync_interval_queued_seconds)
    active = index.scheduled_count(ctx)
    floor = active * REQUESTS_PER_SYNC / (settings.openai_requests_per_minute / 60) * 1.25
    return max(base, floor)


@dataclass(frozen=True)
class Observed:
    """What a sync read: the provider job, its events new to the log, the newest metrics and,
    once it succeeded with trained tokens, the training price per million tokens."""

    remote: FineTuningJob
    new_events: list[FineTuningJobEvent]
    progress: JobProgress | None
    price_per_million: float | None


@dataclass(frozen=True)
class SyncChange:
    """What a sync changes on the job: the statuses it passed through, the one it reached and
    the fields to write."""

    passed: list[JobStatus]
    target: JobStatus
    fields: dict[str, Any]


def launched_id(job: Job) -> str:
    """The provider's job id; only launched jobs are synced or controlled."""
    assert job.provider.job_id is not None
    return job.provider.job_id


def sync_launched(ctx: Context, job: Job) -> Job:
    if job.cancel_requested and job.status not in TERMINAL:
        control(ctx, job, JobAction.cancel)
    observed = observe(ctx, job)
    return apply(ctx, job, observed, change_from(job, observed, clock.now()))


def observe(ctx: Context, job: Job) -> Observed:
    """Read the provider job, mirroring its new events (and checkpoints) into the job's log."""
    remote = ctx.provider.retrieve_job(launched_id(job))
    new_events = pull_events(ctx, job)
    if any("checkpoint" in e.message.lower() for e in new_events) or remote.status == "succeeded":
        mirror_checkpoints(ctx, job)
    price = None
    if remote.status == "succeeded" and remote.trained_tokens:
        price = load_prices(ctx.settings.price_table).for_model(job.model).training_per_million
    return Observed(remote, new_events, progress_of(ctx, job), price)


def change_from(job: Job, observed: Observed, now: int) -> SyncChange:
    """The change a sync makes, from what it read; nothing is written here."""
    remote = observed.remote
    target = states.from_provider(remote.status)
    fields: dict[str, Any] = {
        "last_synced_at": now, "sync_errors": 0, "provider_missing_since": None,
        "estimated_finish": remote.estimated_finish, "trained_tokens": remote.trained_tokens,
        "fine_tuned_model": remote.fine_tuned_model,
        "provider": evolve(job.provider, result_files=list(remote.result_files or []),
                           training_file=remote.training_file,
                           validation_file=remote.validation_file),
        "progress": observed.progress or job.progress}
    if remote.hyperparameters is not None:
        fields["hyperparameters"] = remote.hyperparameters.model_dump(exclude_none=True)
    if observed.new_events or target != job.status:
        fields["last_activity_at"], fields["stalled"] = now, False
    if target == JobStatus.succeeded:
        fields.update(success_fields(observed))
    if target == JobStatus.failed and remote.error is not None:
        fields["error"] = JobError(code=remote.error.code, message=remote.error.message,
                                   param=remote.error.param)
    return SyncChange(passed_through(job.status, target), target, fields)


def success_fields(observed: Observed) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    trained = observed.remote.trained_tokens
    if trained and observed.price_per_million is not None:
        fields["cost_usd"] = round(trained * observed.price_per_million / 1e6, 6)
    if observed.progress is not None:
        fields["progress"] = evolve(observed.progress, percent=100.0)
    return fields


def apply(ctx: Context, job: Job, observed: Observed, change: SyncChange) -> Job:
    if change.target == JobStatus.succeeded:
        keep_results(ctx, job, observed.remote)
    for passed in change.passed:
        lifecycle.move(ctx, job.id, passed, reason="the provider passed it between two syncs")
    written = lifecycle.move_or_update(ctx, job.id, change.target, update=change.fields)
    if not written.moved:
        flag_stall(ctx, written.after)
    return ctx.store.get(Job, job.id) or written.after


PROVIDER_PATH = (JobStatus.validating_files, JobStatus.queued, JobStatus.running,
                 JobStatus.succeeded)


def passed_through(current: JobStatus, target: JobStatus) -> list[JobStatus]:
    """The statuses a provider job must have gone through between the two, when it succeeded
    or runs: a status shorter than the sync interval still shows in the job's history."""
    if current not in PROVIDER_PATH or target not in PROVIDER_PATH:
        return []
    return list(PROVIDER_PATH[PROVIDER_PATH.index(current) + 1:PROVIDER_PATH.index(target)])


def pull_events(ctx: Context, job: Job) -> list[FineTuningJobEvent]:
    """Provider events not seen yet, appended oldest first, each once."""
    log_ = events.log_of(ctx)
    fresh: list[FineTuningJobEvent] = []
    for event in ctx.provider.list_events(launched_id(job), page_size=EVENT_PAGE):
        if log_.has_seen(job.id, event.id):
            break
        fresh.append(event)
    for event in reversed(fresh):
        data = event.data if isinstance(event.data, dict) else {}
        kind: events.EventType = "metrics" if event.type == "metrics" else "message"
        level = event.level if event.level in ("info", "warn", "error") else "info"
        events.record(ctx, job.id, kind, event.message, data=data, level=level,
                      source="openai", created_at=event.created_at, source_id=event.id)
    return fresh


def progress_of(ctx: Context, job: Job) -> JobProgress | None:
    """From the newest metrics event."""
    for event in events.log_of(ctx).newest(job.id, 50):
        if event["type"] == "metrics":
            data = event["data"]
            step, total = data.get("step"), data.get("total_steps")
            percent = round(100 * step / total, 1) if step and total else None
            return JobProgress(step=step, total_steps=total, percent=percent,
                               train_loss=data.get("train_loss"), valid_loss=data.get("valid_loss"))
    return None


def keep_results(ctx: Context, job: Job, remote: FineTuningJob) -> None:
    """A succeeded job's result metrics and its fine-tuned model in the project's registry."""
    for file_id in remote.result_files or []:
        store_result_metrics(ctx, job.id, file_id)
    if remote.fine_tuned_model:
        registry.register(ctx, job.project_id, remote.fine_tuned_model, job.model, job.id)


def store_result_metrics(ctx: Context, job_id: str, file_id: str) -> None:
    """The provider's step_metrics.csv, kept as rows for the metrics route."""
    try:
        content = ctx.provider.file_content(file_id)
    except ProviderRejected:
        return
    rows = []
    for row in csv.DictReader(io.StringIO(content.text)):
        rows.append({name: number(value) for name, value in row.items()})
    index.save_result_metrics(ctx, job_id, rows)


def number(value: str | None) -> float | int | None:
    if value is None or value.strip() == "":
        return None
    parsed = float(value)
    if not math.isfinite(parsed):
        return None
    return int(parsed) if parsed.is_integer() and "." not in value else parsed


def mirror_checkpoints(ctx: Context, job: Job) -> None:
    mirrored = []
    for checkpoint in sorted(ctx.provider.list_checkpoints(launched_id(job)),
                             key=lambda c: c.step_number):
        item = {"id": checkpoint.id, "step_number": checkpoint.step_number,
                "fine_tuned_model_checkpoint": checkpoint.fine_tuned_model_checkpoint,
                "metrics": checkpoint.metrics.model_dump(exclude_none=True),
                "created_at": checkpoint.created_at}
        mirrored.append(item)
        events.record(ctx, job.id, "checkpoint",
                      f"Checkpoint at step {checkpoint.step_number}: "
                      f"{checkpoint.fine_tuned_model_checkpoint}", data=item, source="openai",
                      created_at=checkpoint.created_at, source_id=checkpoint.id)
    index.save_checkpoints(ctx, job.id, mirrored)


def flag_stall(ctx: Context, job: Job) -> None:
    """One warning event and webhook per stall of an active job."""
    if job.status in TERMINAL or job.stalled or job.last_activity_at is None:
        return
    idle = clock.now() - job.last_activity_at
    if idle <= ctx.settings.stall_seconds:
        return
    stalled = ctx.store.update(Job, job.id, lambda j: j.evolve(stalled=True))
    events.record(ctx, job.id, "message", f"No progress from the provider for {idle} s",
                  data={"code": "stalled", "idle_seconds": idle}, level="warn")
    notify(ctx, job.project_id, "job.stalled",
           {"job": stalled.model_dump(mode="json", exclude={"webhook_url"}),
            "idle_seconds": idle}, job.webhook_url)


def control(ctx: Context, job: Job, action: JobAction) -> None:
    """Cancel, pause or resume at the provider; the next sync shows the new status."""
    call = {JobAction.cancel: ctx.provider.cancel_job, JobAction.pause: ctx.provider.pause_job,
            JobAction.resume: ctx.provider.resume_job}[action]
    try:
        call(launched_id(job))
    except ProviderRejected as exc:
        log.info("job.control.refused", job_id=job.id, action=action, detail=exc.detail)


def run_control(ctx: Context, job_id: str, action: JobAction) -> None:
    job = ctx.store.get(Job, job_id)
    if job is None or job.provider.job_id is None:
        return
    control(ctx, job, action)
    index.mark_due(ctx, job_id, 0)
    sync(ctx, job_id)
