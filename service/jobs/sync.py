"""Follow launched jobs: a sweep claims the due ones; each sync pulls status, events, metrics,
checkpoints and, at the end, the result file and the fine-tuned model."""

import csv
import io
import math
from typing import Any

import orjson
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from rq.timeouts import JobTimeoutException

from service import clock
from service.context import Context
from service.datasets.pricing import load_prices
from service.errors import ProviderError, ProviderRejected
from service.finetuned import registry
from service.jobs import events, launch, lifecycle, schedule
from service.jobs.models import TERMINAL, Job, JobAction, JobError, JobProgress, JobStatus
from service.logs import log
from service.metrics import SYNC_LAG
from service.store import keys, locks
from service.tasks import Task
from service.webhooks.service import notify

CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
for i = 1, #due, 2 do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], due[i]) end
return due
"""
LEASE_SECONDS = 120
BATCH = 500
EVENT_PAGE = 100
REQUESTS_PER_SYNC = 2
SYNCS_PER_TASK = 10  # a task costs a worker a fork: one per job would cost more than the sync


def sweep(ctx: Context) -> int:
    """Queue syncs for the due jobs, a few a task; each job is leased so a lost task costs one
    lease, not a job."""
    now = clock.now_precise()
    due = ctx.redis.eval(CLAIM, 1, keys.jobs_due(), now, BATCH, now + LEASE_SECONDS)
    claimed = [raw.decode() for raw in due[::2]]
    for score in due[1::2]:
        SYNC_LAG.observe(max(0.0, now - float(score)))
    for start in range(0, len(claimed), SYNCS_PER_TASK):
        ctx.enqueue(Task.sync_jobs, claimed[start:start + SYNCS_PER_TASK], job_timeout=LEASE_SECONDS)
    launch.retry_waiting(ctx)
    return len(claimed)


def sync_each(ctx: Context, job_ids: list[str]) -> None:
    """Sync the jobs in turn; one that breaks does not hold up the rest (its lease retries it)."""
    for job_id in job_ids:
        try:
            sync(ctx, job_id)
        except JobTimeoutException:
            raise  # the task's time is up: the jobs left come back when their leases end
        except Exception:  # noqa: BLE001 - logged with its traceback; the lease retries it
            log.exception("job.sync.crashed", job_id=job_id)


def make_due_by_provider_job(ctx: Context, provider_job_id: str) -> bool:
    """An inbound provider webhook: sync that job at once."""
    job_id = ctx.redis.get(keys.job_by_provider(provider_job_id))
    if job_id is None:
        return False
    schedule.mark_due(ctx, job_id.decode(), 0)
    ctx.enqueue(Task.sync_job, job_id.decode())
    return True


def sync(ctx: Context, job_id: str) -> None:
    """Bring one job up to date with the provider, then set when it is due next."""
    with locks.hold(ctx.redis, "sync", job_id, ttl=LEASE_SECONDS) as held:
        if not held:
            return
        job = ctx.store.get(Job, job_id)
        if job is None or (job.status in TERMINAL and job.provider.job_id is None):
            schedule.forget(ctx, job_id)
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
            ctx.store.update(Job, job_id, lambda j: j.model_copy(update={"sync_errors": failures}))
            log.warning("job.sync.failed", job_id=job_id, error=exc.code, failures=failures)
            backoff = ctx.settings.provider_retry_seconds * 2 ** (failures - 1)
            schedule.mark_due(ctx, job_id, clock.now_precise() + min(300, backoff))
            return
        if job.status in TERMINAL:
            schedule.forget(ctx, job_id)
        else:
            schedule.mark_due(ctx, job_id, clock.now_precise() + interval(ctx, job))
        ctx.redis.delete(keys.record_part("job", job_id, "provider_missing_since"))


def is_missing(exc: ProviderError) -> bool:
    return isinstance(exc, ProviderRejected) and exc.provider_status == 404


def fail_when_gone(ctx: Context, job: Job) -> bool:
    """A provider job answering 404 for longer than the grace period is gone (the provider lost
    it): the job fails with provider_job_not_found. Answer whether it did."""
    key = keys.record_part("job", job.id, "provider_missing_since")
    ctx.redis.set(key, clock.now(), nx=True)
    missing_for = clock.now() - int(ctx.redis.get(key) or clock.now())
    if missing_for < ctx.settings.provider_missing_grace_seconds:
        return False
    message = (f"The provider has had no job {job.provider.job_id} for {missing_for} s; it was "
               "lost on the provider's side.")
    lifecycle.move(ctx, job.id, JobStatus.failed, reason=message, update={
        "error": JobError(code="provider_job_not_found", message=message, param=None)})
    schedule.forget(ctx, job.id)
    ctx.redis.delete(key)
    log.warning("job.sync.provider_job_gone", job_id=job.id, missing_seconds=missing_for)
    return True


def recover_launch(ctx: Context, job: Job) -> None:
    if (launch.pending_without_launch(job, clock.now(), ctx.settings.launch_lock_seconds)
            and not ctx.redis.exists(keys.lock("launch", job.id))):
        log.info("job.launch.requeued", job_id=job.id)
        ctx.enqueue(Task.launch_job, job.id)
    # A launch counts as lost only launch_lock_seconds after the job last changed: look no sooner.
    lost_at = job.updated_at + ctx.settings.launch_lock_seconds + 1
    schedule.mark_due(ctx, job.id,
                      max(clock.now() + ctx.settings.sync_interval_queued_seconds, lost_at))


def interval(ctx: Context, job: Job) -> float:
    """Seconds while running, longer while waiting; never faster than the rate cap allows."""
    settings = ctx.settings
    base = (settings.sync_interval_running_seconds if job.status == JobStatus.running
            else settings.sync_interval_queued_seconds)
    active = ctx.redis.zcard(keys.jobs_due())
    floor = active * REQUESTS_PER_SYNC / (settings.openai_requests_per_minute / 60) * 1.25
    return max(base, floor)


def sync_launched(ctx: Context, job: Job) -> Job:
    client = ctx.gateway.client
    if job.cancel_requested and job.status not in TERMINAL:
        control(ctx, job, JobAction.cancel)
    remote = ctx.gateway.call(client.fine_tuning.jobs.retrieve, job.provider.job_id)
    new_events = pull_events(ctx, job)
    if any("checkpoint" in e.message.lower() for e in new_events) or remote.status == "succeeded":
        mirror_checkpoints(ctx, job)
    now = clock.now()
    update: dict[str, Any] = {
        "last_synced_at": now, "sync_errors": 0,
        "estimated_finish": remote.estimated_finish, "trained_tokens": remote.trained_tokens,
        "fine_tuned_model": remote.fine_tuned_model,
        "provider": job.provider.model_copy(update={
            "result_files": list(remote.result_files or []),
            "training_file": remote.training_file, "validation_file": remote.validation_file}),
        "progress": progress_of(ctx, job) or job.progress}
    if remote.hyperparameters is not None:
        update["hyperparameters"] = remote.hyperparameters.model_dump(exclude_none=True)
    target = launch.status_from_provider(remote.status)
    if new_events or target != job.status:
        update["last_activity_at"], update["stalled"] = now, False
    if target == JobStatus.succeeded:
        finish_success(ctx, job, remote, update)
    if target == JobStatus.failed and remote.error is not None:
        update["error"] = JobError(code=remote.error.code, message=remote.error.message,
                                   param=remote.error.param)
    for passed in passed_through(job.status, target):
        lifecycle.move(ctx, job.id, passed, reason="the provider passed it between two syncs")
    if target == job.status or not lifecycle.move(ctx, job.id, target, update=update):
        job = ctx.store.update(Job, job.id, lambda j: j.model_copy(update=update))
        flag_stall(ctx, job)
    return ctx.store.get(Job, job.id) or job


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
    after: str | None = None
    while True:
        options: dict[str, Any] = {"limit": EVENT_PAGE}
        if after:
            options["after"] = after
        page = ctx.gateway.call(ctx.gateway.client.fine_tuning.jobs.list_events,
                                job.provider.job_id, **options)
        unseen = []
        for event in page.data:
            if log_.has_seen(job.id, event.id):
                break
            unseen.append(event)
        fresh.extend(unseen)
        if len(unseen) < len(page.data) or not page.has_more or not page.data:
            break
        after = page.data[-1].id
    for event in reversed(fresh):
        data = event.data if isinstance(event.data, dict) else {}
        kind = "metrics" if event.type == "metrics" else "message"
        level = event.level if event.level in ("info", "warn", "error") else "info"
        events.record(ctx, job.id, kind, event.message, data=data, level=level,
                      source="openai", created_at=event.created_at, source_id=event.id)
    return fresh


def progress_of(ctx: Context, job: Job) -> JobProgress | None:
    """From the newest metrics event."""
    stream = events.log_of(ctx).stream(job.id)
    for _, fields in ctx.redis.xrevrange(stream, count=50):
        event = orjson.loads(fields[b"json"])
        if event["type"] == "metrics":
            data = event["data"]
            step, total = data.get("step"), data.get("total_steps")
            percent = round(100 * step / total, 1) if step and total else None
            return JobProgress(step=step, total_steps=total, percent=percent,
                            train_loss=data.get("train_loss"), valid_loss=data.get("valid_loss"))
    return None


def finish_success(ctx: Context, job: Job, remote: FineTuningJob, update: dict[str, Any]) -> None:
    if remote.trained_tokens:
        price = load_prices(ctx.settings.price_table).for_model(job.model).training_per_million
        update["cost_usd"] = round(remote.trained_tokens * price / 1e6, 6)
    for file_id in remote.result_files or []:
        store_result_metrics(ctx, job.id, file_id)
    if remote.fine_tuned_model:
        registry.register(ctx, job.project_id, remote.fine_tuned_model, job.model, job.id)
    progress = progress_of(ctx, job)
    if progress is not None:
        update["progress"] = progress.model_copy(update={"percent": 100.0})


def store_result_metrics(ctx: Context, job_id: str, file_id: str) -> None:
    """The provider's step_metrics.csv, kept as rows for the metrics route."""
    try:
        content = ctx.gateway.call(ctx.gateway.client.files.content, file_id)
    except ProviderRejected:
        return
    rows = []
    for row in csv.DictReader(io.StringIO(content.text)):
        rows.append({name: number(value) for name, value in row.items()})
    ctx.redis.set(keys.record_part("job", job_id, "result_metrics"), orjson.dumps(rows))


def number(value: str | None) -> float | int | None:
    if value is None or value.strip() == "":
        return None
    parsed = float(value)
    if not math.isfinite(parsed):
        return None
    return int(parsed) if parsed.is_integer() and "." not in value else parsed


def mirror_checkpoints(ctx: Context, job: Job) -> None:
    page = ctx.gateway.call(ctx.gateway.client.fine_tuning.jobs.checkpoints.list,
                            job.provider.job_id, limit=100)
    mirrored = []
    for checkpoint in sorted(page.data, key=lambda c: c.step_number):
        item = {"id": checkpoint.id, "step_number": checkpoint.step_number,
                "fine_tuned_model_checkpoint": checkpoint.fine_tuned_model_checkpoint,
                "metrics": checkpoint.metrics.model_dump(exclude_none=True),
                "created_at": checkpoint.created_at}
        mirrored.append(item)
        events.record(ctx, job.id, "checkpoint",
                      f"Checkpoint at step {checkpoint.step_number}: "
                      f"{checkpoint.fine_tuned_model_checkpoint}", data=item, source="openai",
                      created_at=checkpoint.created_at, source_id=checkpoint.id)
    ctx.redis.set(keys.record_part("job", job.id, "checkpoints"), orjson.dumps(mirrored))


def flag_stall(ctx: Context, job: Job) -> None:
    """One warning event and webhook per stall of an active job."""
    if job.status in TERMINAL or job.stalled or job.last_activity_at is None:
        return
    idle = clock.now() - job.last_activity_at
    if idle <= ctx.settings.stall_seconds:
        return
    stalled = ctx.store.update(Job, job.id, lambda j: j.model_copy(update={"stalled": True}))
    events.record(ctx, job.id, "message", f"No progress from the provider for {idle} s",
                  data={"code": "stalled", "idle_seconds": idle}, level="warn")
    notify(ctx, job.project_id, "job.stalled",
           {"job": stalled.model_dump(mode="json", exclude={"webhook_url"}),
            "idle_seconds": idle}, job.webhook_url)


def control(ctx: Context, job: Job, action: JobAction) -> None:
    """Cancel, pause or resume at the provider; the next sync shows the new status."""
    jobs_api = ctx.gateway.client.fine_tuning.jobs
    call = {JobAction.cancel: jobs_api.cancel, JobAction.pause: jobs_api.pause,
            JobAction.resume: jobs_api.resume}[action]
    try:
        ctx.gateway.call(call, job.provider.job_id)
    except ProviderRejected as exc:
        log.info("job.control.refused", job_id=job.id, action=action, detail=exc.detail)


def run_control(ctx: Context, job_id: str, action: JobAction) -> None:
    job = ctx.store.get(Job, job_id)
    if job is None or job.provider.job_id is None:
        return
    control(ctx, job, action)
    schedule.mark_due(ctx, job_id, 0)
    sync(ctx, job_id)


def read_json(ctx: Context, job_id: str, part: str) -> list[dict[str, Any]]:
    raw = ctx.redis.get(keys.record_part("job", job_id, part))
    return orjson.loads(raw) if raw else []
