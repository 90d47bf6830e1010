"""Advance a pipeline (the `advance_pipeline` task): safe to run twice and to die at any line.

One advance at a time holds the pipeline's lock. It runs the steps in order until one must wait:
convert and split at once, each waiting for the datasets it reads and makes to be validated;
job and evaluate by creating the resource, then looking again, re-queued, until it ends.

A step's resource is made once. The step records when it started before making anything, and
an advance that finds it started without a resource (the one before died in between) first
looks for what was made since: the job by its pipeline_id tag, the datasets by their parent,
the evaluation by its dataset and job.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import redis

from service import faults
from service.context import Context
from service.datasets import service as datasets
from service.datasets.models import Dataset, DatasetStatus
from service.errors import ServiceError
from service.evaluations import service as evaluations
from service.evaluations.models import Evaluation, EvaluationStatus
from service.jobs import service as jobs
from service.jobs.models import Job, JobStatus
from service.logs import log
from service.pipelines import service, states
from service.pipelines.models import (
    JOB_TAG,
    TERMINAL,
    Pipeline,
    PipelineStatus,
    Step,
    StepError,
    StepName,
)
from service.projects import service as projects
from service.store import due, keys, locks
from service.store.locks import LockName
from service.store.records import Record

LOCK_SECONDS = 600  # longer than converting or splitting a big file takes
R = TypeVar("R", bound=Record)
Made = dict[str, Any]  # the step's fields naming what it made: resource_id (and parts)


class Stop(Exception):
    """The step ends the pipeline: failed with its resource's error, or cancelled."""

    def __init__(self, status: PipelineStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error = status, StepError(code=code, message=message)


def advance(ctx: Context, pipeline_id: str) -> None:
    with locks.hold(ctx.redis, LockName.pipeline, pipeline_id, ttl=LOCK_SECONDS) as held:
        if not held:
            return  # the holder queues the next advance; the sweep does if the holder died
        wait: float | None = None
        try:
            wait = step_through(ctx, pipeline_id)
        except redis.RedisError:
            raise  # nothing can be recorded now; the sweep queues the advance again
        except Exception as exc:
            log.exception("pipeline.advance.crashed", pipeline_id=pipeline_id)
            states.end(ctx, pipeline_id, PipelineStatus.failed,
                       StepError(code="internal_error", message=repr(exc)))
    if wait is not None:
        service.queue_advance(ctx, pipeline_id, wait)


def step_through(ctx: Context, pipeline_id: str) -> float | None:
    """Run steps until one waits (answer the seconds until the next look) or the pipeline ends."""
    while True:
        pipeline = ctx.store.get(Pipeline, pipeline_id)
        if pipeline is None or pipeline.status in TERMINAL:
            due.drop(ctx.redis, keys.pipelines_due(), pipeline_id)
            return None
        step = pipeline.current()
        if step is None:
            if states.end(ctx, pipeline_id, PipelineStatus.succeeded) is not None:
                log.info("pipeline.succeeded", pipeline_id=pipeline_id)
            return None
        try:
            done = RUNNERS[step.name](ctx, pipeline, step)
        except ServiceError as exc:
            stop(ctx, pipeline_id, step, Stop(PipelineStatus.failed, exc.code, exc.detail))
            return None
        except Stop as exc:
            stop(ctx, pipeline_id, step, exc)
            return None
        if not done:
            return ctx.settings.sync_interval_running_seconds  # as often as jobs are synced
        states.finish_step(ctx, pipeline_id, step.name)


def stop(ctx: Context, pipeline_id: str, step: Step, why: Stop) -> None:
    states.end(ctx, pipeline_id, why.status, why.error)
    log.info("pipeline.stopped", pipeline_id=pipeline_id, step=step.name, status=why.status,
             code=why.error.code)


def run_convert(ctx: Context, pipeline: Pipeline, step: Step) -> bool:
    project_id, source, body = pipeline.project_id, pipeline.dataset, pipeline.request.convert
    assert body is not None
    if step.resource_id is None:
        if not is_settled(ctx, project_id, source):
            return False

        def find(since: int) -> Made | None:
            found = made_since(ctx, Dataset, project_id, since, lambda d: d.parent_id == source
                               and (d.derived_by or "").startswith("convert:"))
            return {"resource_id": found[-1].id} if found else None

        made = make_once(ctx, pipeline, step, find, lambda: {
            "resource_id": datasets.convert(ctx, project_id, source, body).id})
        if made is None:
            return False
        step = made
    assert step.resource_id is not None
    return is_settled(ctx, project_id, step.resource_id)


def run_split(ctx: Context, pipeline: Pipeline, step: Step) -> bool:
    project_id, body = pipeline.project_id, pipeline.request.split
    assert body is not None
    source = output_of(pipeline, StepName.convert) or pipeline.dataset
    if step.parts is None:
        if not is_settled(ctx, project_id, source):
            return False

        def find(since: int) -> Made | None:
            found: dict[str, str] = {}
            for dataset in made_since(ctx, Dataset, project_id, since, lambda d: d.parent_id
                                      == source and (d.derived_by or "").startswith("split:")):
                found.setdefault((dataset.derived_by or "").removeprefix("split:"), dataset.id)
            return split_made(found) if set(found) == set(body.fractions) else None

        def make() -> Made:
            parts = datasets.split(ctx, project_id, source, body)["splits"]
            return split_made({part: dataset.id for part, dataset in parts.items()})

        made = make_once(ctx, pipeline, step, find, make)
        if made is None:
            return False
        step = made
    assert step.parts is not None
    return all(is_settled(ctx, project_id, part) for part in step.parts.values())


def split_made(parts: dict[str, str]) -> Made:
    return {"resource_id": parts["train"], "parts": parts}


def run_job(ctx: Context, pipeline: Pipeline, step: Step) -> bool:
    project_id = pipeline.project_id
    if step.resource_id is None:
        split = pipeline.step(StepName.split)
        parts = split.parts if split is not None and split.parts is not None else {}
        training = parts.get("train") or output_of(pipeline, StepName.convert) or pipeline.dataset
        if not is_settled(ctx, project_id, training):
            return False
        body = pipeline.request.job.job_create(training, parts.get("validation"), pipeline.id)

        def find(since: int) -> Made | None:
            found = made_since(ctx, Job, project_id, since,
                               lambda job: job.metadata.get(JOB_TAG) == pipeline.id)
            return {"resource_id": found[-1].id} if found else None

        def make() -> Made:
            job = jobs.create(ctx, projects.get_project(ctx, project_id), body)
            assert isinstance(job, Job)
            return {"resource_id": job.id}

        made = make_once(ctx, pipeline, step, find, make)
        if made is None:
            return False
        step = made
    assert step.resource_id is not None
    job = jobs.get(ctx, project_id, step.resource_id)
    if job.status == JobStatus.failed:
        raise Stop(PipelineStatus.failed, (job.error.code if job.error else None) or "job_failed",
                   job.error.message if job.error else f"Job {job.id} failed.")
    if job.status == JobStatus.cancelled:
        raise Stop(PipelineStatus.cancelled, "job_cancelled", f"Job {job.id} was cancelled.")
    return job.status == JobStatus.succeeded


def run_evaluate(ctx: Context, pipeline: Pipeline, step: Step) -> bool:
    project_id, body = pipeline.project_id, pipeline.request.evaluate
    assert body is not None
    if step.resource_id is None:
        split = pipeline.step(StepName.split)
        job_id = output_of(pipeline, StepName.job)
        assert split is not None and split.parts is not None and job_id is not None
        test = split.parts["test"]

        def find(since: int) -> Made | None:
            found = made_since(ctx, Evaluation, project_id, since,
                               lambda e: e.dataset == test and e.job == job_id)
            return {"resource_id": found[-1].id} if found else None

        made = make_once(ctx, pipeline, step, find, lambda: {"resource_id": evaluations.create(
            ctx, project_id, body.evaluation_create(test, job_id)).id})
        if made is None:
            return False
        step = made
    assert step.resource_id is not None
    evaluation = evaluations.get(ctx, project_id, step.resource_id)
    if evaluation.status == EvaluationStatus.failed:
        error = evaluation.error
        raise Stop(PipelineStatus.failed, error.code if error else "evaluation_failed",
                   error.message if error else f"Evaluation {evaluation.id} failed.")
    if evaluation.status == EvaluationStatus.cancelled:
        raise Stop(PipelineStatus.cancelled, "evaluation_cancelled",
                   f"Evaluation {evaluation.id} was cancelled.")
    return evaluation.status == EvaluationStatus.succeeded


RUNNERS: dict[StepName, Callable[[Context, Pipeline, Step], bool]] = {
    StepName.convert: run_convert, StepName.split: run_split, StepName.job: run_job,
    StepName.evaluate: run_evaluate}


def make_once(ctx: Context, pipeline: Pipeline, step: Step, find: Callable[[int], Made | None],
              make: Callable[[], Made]) -> Step | None:
    """Make the step's resource unless an interrupted advance made it already, and record it;
    the step as recorded, or None if the pipeline ended first."""
    started = states.start_step(ctx, pipeline.id, step.name)
    if started is None:
        return None
    made = (find(step.started_at) if step.started_at is not None else None) or make()
    faults.point(ctx, f"pipeline.{step.name}.made")
    recorded = states.record(ctx, pipeline.id, step.name, **made)
    if recorded.status == PipelineStatus.cancelled:
        service.cancel_resources(ctx, recorded)  # the pipeline was cancelled meanwhile
        return None
    return recorded.step(step.name)


def made_since(ctx: Context, model: type[R], project_id: str, since: int,
               matches: Callable[[R], bool]) -> list[R]:
    """The project's records that match, made at `since` or later, newest first."""
    found = []
    for record in ctx.store.scan(model, project_id):
        if record.created_at < since:
            break
        if matches(record):
            found.append(record)
    return found


def is_settled(ctx: Context, project_id: str, dataset_id: str) -> bool:
    """Whether the dataset's validation has ended; dataset_not_ready if it found it invalid."""
    if datasets.get(ctx, project_id, dataset_id).status == DatasetStatus.processing:
        return False
    datasets.ready(ctx, project_id, dataset_id)
    return True


def output_of(pipeline: Pipeline, name: StepName) -> str | None:
    step = pipeline.step(name)
    return step.resource_id if step is not None else None
