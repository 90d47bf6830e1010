"""What the pipeline routes call: create, get, page, cancel; and the queueing of advances."""


from service import clock, ids, overdue
from service.context import Context
from service.errors import (
    InvalidEvaluationState,
    InvalidJobState,
    InvalidPipelineState,
    PipelineNotFound,
)
from service.evaluations import service as evaluations
from service.jobs import service as jobs
from service.logs import log
from service.pagination import Page, take_page
from service.pipelines import checks, states
from service.pipelines.models import (
    TERMINAL,
    Pipeline,
    PipelineCreate,
    PipelineStatus,
    Step,
    StepName,
)
from service.projects.models import Project
from service.store import keys
from service.store.locks import LockName
from service.tasks import Task

OVERDUE_GRACE = 120.0  # seconds a queued advance may wait for a worker before it counts as lost


def create(ctx: Context, project: Project, body: PipelineCreate) -> Pipeline:
    """Check the whole request, record the pipeline and queue its first advance."""
    source = checks.check(ctx, project.id, body)
    steps = [Step(name=name) for name in StepName if getattr(body, name) is not None]
    now = clock.now()
    pipeline = Pipeline(id=ids.new_id("pipeline"), created_at=now, updated_at=now,
                        project_id=project.id, dataset=source.id, steps=steps, request=body)
    ctx.store.create(pipeline, project.id)
    queue_advance(ctx, pipeline.id)
    log.info("pipeline.created", pipeline_id=pipeline.id, steps=[s.name for s in steps])
    return pipeline


def get(ctx: Context, project_id: str, pipeline_id: str) -> Pipeline:
    pipeline = ctx.store.get(Pipeline, pipeline_id)
    if pipeline is None or pipeline.project_id != project_id:
        raise PipelineNotFound(pipeline_id)
    return pipeline


def page(ctx: Context, project_id: str, limit: int, after: str | None,
         status: PipelineStatus | None = None) -> Page[Pipeline]:
    if after is not None:
        get(ctx, project_id, after)
    return take_page(ctx.store.scan(Pipeline, project_id, after=after), limit,
                     lambda pipeline: status is None or pipeline.status == status)


def cancel(ctx: Context, project_id: str, pipeline_id: str) -> Pipeline:
    """End the pipeline at once and cancel its running job or evaluation; an advance that has
    just made one cancels it when it records it."""
    get(ctx, project_id, pipeline_id)
    cancelled = states.end(ctx, pipeline_id, PipelineStatus.cancelled)
    if cancelled is None:
        current = get(ctx, project_id, pipeline_id)
        raise InvalidPipelineState(f"Pipeline {pipeline_id} is {current.status}; only a running "
                                   "pipeline can be cancelled.")
    cancel_resources(ctx, cancelled)
    log.info("pipeline.cancelled", pipeline_id=pipeline_id)
    return cancelled


def cancel_resources(ctx: Context, pipeline: Pipeline) -> None:
    """Cancel the job and evaluation the pipeline made, those still active."""
    for step in pipeline.steps:
        if step.resource_id is None:
            continue
        try:
            if step.name == StepName.job:
                jobs.cancel(ctx, pipeline.project_id, step.resource_id)
            elif step.name == StepName.evaluate:
                evaluations.cancel(ctx, pipeline.project_id, step.resource_id)
        except (InvalidJobState, InvalidEvaluationState):
            pass  # it had already ended


def queue_advance(ctx: Context, pipeline_id: str, delay: float = 0.0) -> None:
    """Queue the pipeline's next advance (after delay seconds); the sweep queues it again if the
    task is lost."""
    overdue.expect(ctx, keys.pipelines_due(), pipeline_id, delay, OVERDUE_GRACE)
    ctx.enqueue(Task.advance_pipeline, pipeline_id, delay=delay)


def requeue_overdue(ctx: Context) -> int:
    """Queue again the advances lost with a worker or with the queue."""
    return overdue.requeue(ctx, keys.pipelines_due(), Pipeline, TERMINAL, LockName.pipeline,
                           queue_advance)
