"""The functions RQ calls, by dotted name from the API: each hands its ids to the domain.

Routine tasks (sweeps and syncs, every few seconds) log at debug."""

from service.datasets import backlog, ingest
from service.evaluations import run as evaluation_run
from service.evaluations import service as evaluations
from service.jobs import cleanup, launch, recovery, sync
from service.jobs.models import JobAction
from service.pipelines import run as pipeline_run
from service.pipelines import service as pipelines
from service.webhooks import deliver
from worker.context import current_context
from worker.observe import task


@task()
def validate_dataset(dataset_id: str) -> None:
    ingest.validate(current_context(), dataset_id)


@task(routine=True)
def requeue_overdue_validations() -> None:
    backlog.requeue_overdue(current_context())


@task()
def launch_job(job_id: str) -> None:
    launch.run(current_context(), job_id)


@task(routine=True)
def sync_job(job_id: str) -> None:
    sync.sync(current_context(), job_id)


@task(routine=True)
def sync_jobs(job_ids: list[str]) -> None:
    sync.sync_each(current_context(), job_ids)


@task()
def control_job(job_id: str, action: JobAction) -> None:
    sync.run_control(current_context(), job_id, JobAction(action))


@task(routine=True)
def sync_due_jobs() -> None:
    sync.sweep(current_context())


@task(routine=True)
def reconcile_jobs() -> None:
    recovery.reconcile(current_context())


@task()
def deliver_webhook(delivery_id: str) -> None:
    deliver.run(current_context(), delivery_id)


@task(routine=True)
def requeue_overdue_deliveries() -> None:
    deliver.requeue_overdue(current_context())


@task()
def run_evaluation(evaluation_id: str) -> None:
    evaluation_run.run(current_context(), evaluation_id)


@task(routine=True)
def requeue_overdue_evaluations() -> None:
    evaluations.requeue_overdue(current_context())


@task(routine=True)
def delete_expired_provider_files() -> None:
    cleanup.delete_expired_provider_files(current_context())


@task()
def advance_pipeline(pipeline_id: str) -> None:
    pipeline_run.advance(current_context(), pipeline_id)


@task(routine=True)
def requeue_overdue_pipelines() -> None:
    pipelines.requeue_overdue(current_context())


@task(routine=True)
def remove_partial_uploads() -> None:
    ctx = current_context()
    ctx.storage.remove_partial(ctx.settings.upload_max_seconds)
