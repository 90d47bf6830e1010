"""A fine-tuning job's simulated life, computed from timestamps rather than stepped.

Each job runs on its own virtual clock: `segments` record from which real time the clock ran at
which rate (the speed factor, or 0 while paused or after a cancel). Every state, event and
checkpoint is a pure function of the job and the clock's reading, so nothing runs per job.
Durations below are virtual seconds, i.e. real seconds at speed 1.
"""

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from emulator.curves import Point, curve
from emulator.training import Analysis

VALIDATING = 4.0
QUEUED = 4.0
STEP = 1.0
FINISHING = 2.0
MAX_STEPS = 100
START = VALIDATING + QUEUED
TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Segment:
    v: float
    real: float
    rate: float


@dataclass
class Job:
    id: str
    created: float
    model: str
    base: str
    training_file: str
    validation_file: str | None
    method: str
    requested: dict[str, Any]
    suffix: str | None
    seed: int
    metadata: dict[str, str] | None
    training: Analysis
    validation: Analysis | None
    fine_tuned_model: str
    speed: float
    n_epochs: int = 0
    batch_size: int = 0
    learning_rate_multiplier: float = 1.8
    beta: float = 0.1
    total_steps: int = 0
    failure: dict[str, Any] | None = None
    fail_at_step: int | None = None  # None with a failure: the files were invalid
    stall_v: float | None = None
    paused: bool = False
    cancelled: bool = False
    cancelled_at: float = 0.0
    segments: list[Segment] = field(default_factory=list)
    actions: list[tuple[float, float, str, str]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    settled: bool = False
    result_file_id: str | None = None


def auto_epochs(n_examples: int) -> int:
    """OpenAI's rule: 3 epochs, clamped so examples × epochs stays within 100–25,000."""
    n = max(1, n_examples)
    if n * 3 < 100:
        return min(25, 100 // n)
    if n * 3 > 25_000:
        return max(1, 25_000 // n)
    return 3


def auto_batch_size(n_examples: int) -> int:
    return max(1, min(256, round(0.002 * n_examples)))


def plan(job: Job) -> None:
    """Resolve "auto" hyperparameters and fix the steps and curve; the clock starts now."""
    n = job.training.n_examples
    requested = job.requested
    job.n_epochs = resolve(requested.get("n_epochs"), auto_epochs(n))
    job.batch_size = resolve(requested.get("batch_size"), auto_batch_size(n))
    job.learning_rate_multiplier = resolve(requested.get("learning_rate_multiplier"), 1.8)
    job.beta = resolve(requested.get("beta"), 0.1)
    job.total_steps = max(1, min(MAX_STEPS, math.ceil(n * job.n_epochs / job.batch_size)))
    job.points = curve(job.seed, job.total_steps, job.validation is not None)
    job.segments = [Segment(0.0, job.created, job.speed)]


def resolve(value: Any, auto: Any) -> Any:
    return auto if value in (None, "auto") else value


def clock(job: Job, now: float) -> float:
    """The job's virtual time at real time `now`."""
    last = job.segments[-1]
    v = last.v + (now - last.real) * last.rate
    return v if job.stall_v is None else min(v, job.stall_v)


def real_at(job: Job, v: float) -> float:
    """The real time at which the clock reads (or will read) v; inf if it is not moving."""
    for i, seg in enumerate(job.segments):
        end = job.segments[i + 1].v if i + 1 < len(job.segments) else math.inf
        if seg.rate > 0 and seg.v <= v <= end:
            return seg.real + (v - seg.v) / seg.rate
    return math.inf


def fail_v(job: Job) -> float | None:
    if job.failure is None:
        return None
    if job.fail_at_step is None:
        return VALIDATING
    return START + job.fail_at_step * STEP


def done_v(job: Job) -> float:
    return START + job.total_steps * STEP + FINISHING


def end_v(job: Job) -> float:
    failed = fail_v(job)
    return done_v(job) if failed is None else failed


def status(job: Job, now: float) -> str:
    if job.cancelled:
        return "cancelled"
    v = clock(job, now)
    failed = fail_v(job)
    if failed is not None and v >= failed:
        return "failed"
    if v >= done_v(job):
        return "succeeded"
    if job.paused:
        return "paused"
    return "validating_files" if v < VALIDATING else "queued" if v < START else "running"


def due_at(job: Job) -> float:
    """When the job will reach its end (real time), inf if it is frozen or already ended."""
    if job.cancelled or job.paused or job.settled:
        return math.inf
    if job.stall_v is not None and job.stall_v < end_v(job):
        return math.inf
    return real_at(job, end_v(job))


def freeze(job: Job, now: float) -> float:
    """Stop the clock (pause, cancel); answers the reading it stopped at."""
    v = clock(job, now)
    job.segments.append(Segment(v, now, 0.0))
    return v


def restart(job: Job, now: float) -> None:
    """Run the clock again from its current reading (resume, unstall)."""
    v = clock(job, now)
    rate = 0.0 if job.paused or job.cancelled else job.speed
    job.segments.append(Segment(v, now, rate))


def stall(job: Job, now: float) -> None:
    """Freeze the job where it is without changing its status."""
    if job.stall_v is None:
        job.stall_v = clock(job, now)


def unstall(job: Job, now: float) -> None:
    if job.stall_v is not None:
        v = clock(job, now)
        job.stall_v = None
        job.segments.append(Segment(v, now, 0.0 if job.paused or job.cancelled else job.speed))


def steps_done(job: Job, v: float) -> int:
    done = min(job.total_steps, max(0, math.floor((v - START) / STEP + 1e-9)))
    return done if job.fail_at_step is None else min(done, job.fail_at_step - 1)


def checkpoint_steps(job: Job) -> list[int]:
    """Steps at the end of the last (up to) three epochs."""
    epochs = range(max(1, job.n_epochs - 2), job.n_epochs + 1)
    steps = {max(1, round(e * job.total_steps / job.n_epochs)) for e in epochs}
    return sorted(steps)


def stable_id(prefix: str, *parts: object) -> str:
    return prefix + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:24]
