"""A pipeline's changes, each one atomic update. Only a running pipeline moves; a step's resource
id is recorded whatever the pipeline's status, so that what was made stays findable."""

from collections.abc import Callable
from typing import Any

from service import clock
from service.context import Context
from service.errors import InvalidPipelineState
from service.pipelines.models import (
    TERMINAL,
    Pipeline,
    PipelineStatus,
    StepError,
    StepName,
    StepStatus,
)
from service.store import due, keys
from service.store.records import evolve
from service.webhooks.service import notify

# The status of the step a pipeline stops at, by the pipeline's end status.
STOPPED_STEP = {PipelineStatus.failed: StepStatus.failed,
                PipelineStatus.cancelled: StepStatus.cancelled}


def change_step(pipeline: Pipeline, name: StepName, **fields: Any) -> Pipeline:
    steps = [evolve(step, **fields) if step.name == name else step for step in pipeline.steps]
    return pipeline.evolve(steps=steps, updated_at=clock.now())


def running(pipeline: Pipeline) -> Pipeline:
    if pipeline.status in TERMINAL:
        raise InvalidPipelineState(f"Pipeline {pipeline.id} is {pipeline.status}.")
    return pipeline


def record(ctx: Context, pipeline_id: str, name: StepName, **fields: Any) -> Pipeline:
    """Record what a step made (its resource id, its parts)."""
    return ctx.store.update(Pipeline, pipeline_id, lambda p: change_step(p, name, **fields))


def start_step(ctx: Context, pipeline_id: str, name: StepName) -> Pipeline | None:
    """Mark the step running from now (kept if it already started); None if the pipeline ended."""
    def start(pipeline: Pipeline) -> Pipeline:
        step = pipeline.step(name)
        assert step is not None
        return change_step(running(pipeline), name, status=StepStatus.running,
                           started_at=step.started_at or clock.now())

    return guarded(ctx, pipeline_id, start)


def finish_step(ctx: Context, pipeline_id: str, name: StepName) -> Pipeline | None:
    return guarded(ctx, pipeline_id, lambda pipeline: change_step(
        running(pipeline), name, status=StepStatus.succeeded, finished_at=clock.now()))


def end(ctx: Context, pipeline_id: str, status: PipelineStatus,
        error: StepError | None = None) -> Pipeline | None:
    """End a running pipeline: the step it stopped at gets the error, the later ones are skipped.
    Sends `pipeline.completed`; None if the pipeline had already ended."""
    def stop(pipeline: Pipeline) -> Pipeline:
        now, steps, stopped = clock.now(), [], False
        for step in running(pipeline).steps:
            if step.status in (StepStatus.pending, StepStatus.running):
                if stopped or status not in STOPPED_STEP:
                    step = evolve(step, status=StepStatus.skipped)
                else:
                    step = evolve(step, status=STOPPED_STEP[status], error=error,
                                  finished_at=now)
                stopped = True
            steps.append(step)
        return pipeline.evolve(status=status, steps=steps, updated_at=now, finished_at=now)

    ended = guarded(ctx, pipeline_id, stop)
    if ended is not None:
        due.drop(ctx.redis, keys.pipelines_due(), pipeline_id)
        notify(ctx, ended.project_id, "pipeline.completed",
               {"pipeline": ended.model_dump(mode="json")})
    return ended


def guarded(ctx: Context, pipeline_id: str,
            change: Callable[[Pipeline], Pipeline]) -> Pipeline | None:
    try:
        return ctx.store.update(Pipeline, pipeline_id, change)
    except InvalidPipelineState:
        return None
