"""The one transition table: the status only moves forward, but for paused → running and for
a hold for capacity (preparing → pending)."""

from typing import Literal

from service import clock
from service.errors import InvalidJobState
from service.jobs.models import TERMINAL, Job, JobStatus

ORDER = [JobStatus.pending, JobStatus.preparing, JobStatus.validating_files, JobStatus.queued,
         JobStatus.running]

PendingReason = Literal["provider_capacity"]
PROVIDER_CAPACITY: PendingReason = "provider_capacity"
# The provider refused the launch for capacity: the job waits as pending until it has room.
# The one move back; a job already waiting may be held again (it keeps its place).
HOLD_FROM = frozenset({JobStatus.pending, JobStatus.preparing})


def rank(status: JobStatus) -> int:
    if status in TERMINAL:
        return len(ORDER) + 1
    return ORDER.index(JobStatus.running if status == JobStatus.paused else status)


def can_move(current: JobStatus, to: JobStatus) -> bool:
    if current in TERMINAL or current == to:
        return False
    if {current, to} == {JobStatus.running, JobStatus.paused}:
        return True
    return rank(to) > rank(current) or (to == JobStatus.paused and rank(to) >= rank(current))


def can_hold(current: JobStatus) -> bool:
    return current in HOLD_FROM


def advance(job: Job, to: JobStatus, held_for: PendingReason | None = None) -> Job:
    """The job in status `to` (held as pending for `held_for`), or InvalidJobState."""
    if held_for is not None:
        return hold(job, to, held_for)
    if not can_move(job.status, to):
        raise InvalidJobState(f"A {job.status} job cannot become {to}.")
    now = clock.now()
    fields: dict[str, object] = {"status": to, "updated_at": now, "last_activity_at": now,
                                 "stalled": False}
    if to in TERMINAL:
        fields["finished_at"] = now
    if to != JobStatus.pending:
        fields["pending_reason"] = None
    return job.evolve(**fields)


def hold(job: Job, to: JobStatus, reason: PendingReason) -> Job:
    if to != JobStatus.pending or not can_hold(job.status):
        raise InvalidJobState(f"A {job.status} job cannot be held as {to}.")
    return job.evolve(status=JobStatus.pending, updated_at=clock.now(), pending_reason=reason)


def from_provider(status: str) -> JobStatus:
    """The job status a provider job's status stands for (an unknown one counts as running)."""
    return JobStatus(status) if status in JobStatus.__members__ else JobStatus.running


def pending_without_launch(job: Job, now: int, after_seconds: int) -> bool:
    """A job whose launch was lost (a worker died): the sweep queues it again."""
    return (job.status in (JobStatus.pending, JobStatus.preparing) and job.provider.job_id is None
            and job.pending_reason is None and now - job.updated_at > after_seconds)
