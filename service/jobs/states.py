"""The one transition table: the status only moves forward, but for paused → running."""

from service import clock
from service.errors import InvalidJobState
from service.jobs.models import TERMINAL, Job, JobStatus

ORDER = [JobStatus.pending, JobStatus.preparing, JobStatus.validating_files, JobStatus.queued,
         JobStatus.running]


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


def advance(job: Job, to: JobStatus) -> Job:
    """The job in status `to`, or InvalidJobState."""
    if not can_move(job.status, to):
        raise InvalidJobState(f"A {job.status} job cannot become {to}.")
    now = clock.now()
    update: dict[str, object] = {"status": to, "updated_at": now, "last_activity_at": now,
                                 "stalled": False}
    if to in TERMINAL:
        update["finished_at"] = now
    if to != JobStatus.pending:
        update["pending_reason"] = None
    return job.model_copy(update=update)
