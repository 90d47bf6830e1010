"""What the job routes call."""

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import TypeAdapter
from redis.client import Pipeline

from service import clock, faults, idempotency, ids
from service.context import Context
from service.datasets import service as datasets
from service.datasets.models import Dataset, DatasetFormat, DatasetStatus
from service.datasets.pricing import auto_epochs
from service.errors import (
    BudgetExceeded,
    DatasetFormatMismatch,
    DatasetNotReady,
    InvalidJobState,
    JobNotFound,
    ModelNotFound,
    ModelNotTunable,
    ProviderJobAlreadyTracked,
    ProviderJobNotFound,
    ProviderRejected,
)
from service.finetuned import registry
from service.jobs import events, index, lifecycle
from service.jobs.models import (
    TERMINAL,
    DryRun,
    Estimate,
    Job,
    JobAction,
    JobCreate,
    JobImport,
    JobStatus,
    Method,
    ProviderRef,
    SupervisedMethod,
)
from service.pagination import Page, take_page
from service.projects.models import Project
from service.provider.types import FineTuningJob
from service.store import records
from service.store.clients import AsyncClient as AsyncRedis
from service.tasks import Task
from service.webhooks import targets

METHOD: TypeAdapter[Method] = TypeAdapter(Method)


def get(ctx: Context, project_id: str, job_id: str) -> Job:
    job = ctx.store.get(Job, job_id)
    if job is None or job.project_id != project_id:
        raise JobNotFound(job_id)
    return job


async def get_on_loop(client: AsyncRedis, project_id: str, job_id: str) -> Job:
    """get() for an event loop, through an asyncio client."""
    job = await records.get_on_loop(client, Job, job_id)
    if job is None or job.project_id != project_id:
        raise JobNotFound(job_id)
    return job


def page(ctx: Context, project_id: str, limit: int, after: str | None,
         status: str | None = None, model: str | None = None,
         metadata: Mapping[str, str] | None = None) -> Page[Job]:
    if after is not None:
        get(ctx, project_id, after)

    def matches(job: Job) -> bool:
        return ((status is None or job.status == status) and (model is None or job.model == model)
                and all(job.metadata.get(k) == v for k, v in (metadata or {}).items()))

    return take_page(ctx.store.scan(Job, project_id, after=after), limit, matches)


def check_model(ctx: Context, project_id: str, model: str) -> None:
    if model in ctx.settings.tunable_models or registry.owned(ctx, project_id, model):
        return
    if model.startswith("ft:"):
        raise ModelNotFound(model)
    raise ModelNotTunable(
        f"{model!r} cannot be fine-tuned here; use one of {', '.join(ctx.settings.tunable_models)}"
        " or one of this project's fine-tuned models.",
        errors=[{"field": "body.model", "message": "not a tunable model"}])


def usable_dataset(ctx: Context, project_id: str, dataset_id: str, method: Method,
                   field: str) -> Dataset:
    dataset = datasets.get(ctx, project_id, dataset_id)
    if dataset.status == DatasetStatus.processing:
        raise DatasetNotReady(f"Dataset {dataset_id} is still being validated.")
    if dataset.status == DatasetStatus.invalid:
        raise DatasetNotReady(
            f"Dataset {dataset_id} is invalid: {dataset.error or 'see its report'}.",
            errors=[{"field": f"body.{field}", "message": "invalid dataset"}])
    wanted = DatasetFormat.preference if method.type == "dpo" else DatasetFormat.chat
    if dataset.format != wanted:
        hint = " (convert it first)" if dataset.format != DatasetFormat.preference else ""
        raise DatasetFormatMismatch(
            f"A {method.type} job needs a {wanted} dataset; "
            f"{dataset_id} is {dataset.format}{hint}.",
            errors=[{"field": f"body.{field}", "message": f"format {dataset.format}"}])
    return dataset


def estimate_for(ctx: Context, dataset: Dataset, model: str, method: Method
                 ) -> tuple[Estimate, dict[str, Any]]:
    report = datasets.report(ctx, dataset, model)
    per_epoch = int(report["estimate"]["tokens_per_epoch"])
    n_epochs = method.hyperparameters.n_epochs
    epochs = n_epochs if isinstance(n_epochs, int) else auto_epochs(int(report["valid_examples"]))
    price = float(report["estimate"]["price_per_million_usd"])
    billing = per_epoch * epochs
    return Estimate(n_epochs=epochs, billing_tokens=billing,
                    cost_usd=round(billing * price / 1e6, 6)), report


def check_budget(ctx: Context, project: Project, body: JobCreate, estimate: Estimate) -> None:
    if body.max_cost_usd is not None and estimate.cost_usd > body.max_cost_usd:
        raise BudgetExceeded(
            f"The estimated cost ${estimate.cost_usd:.2f} is over max_cost_usd "
            f"${body.max_cost_usd:.2f}.",
            errors=[{"field": "body.max_cost_usd", "message": f"estimate {estimate.cost_usd}"}])
    budget = (project.budget_usd if project.budget_usd is not None
              else ctx.settings.project_budget_usd)
    if budget is None:
        return
    committed = sum(job.cost_usd if job.cost_usd is not None else
                    (job.estimate.cost_usd if job.estimate else 0.0)
                    for job in ctx.store.scan(Job, project.id)
                    if job.status != JobStatus.cancelled or job.cost_usd)
    if committed + estimate.cost_usd > budget:
        raise BudgetExceeded(
            f"The project's budget is ${budget:.2f}; ${committed:.2f} is committed and this job "
            f"would add ${estimate.cost_usd:.2f}.")


def provider_request(job: Job, training_file: str, validation_file: str | None) -> dict[str, Any]:
    """The exact body sent to POST /v1/fine_tuning/jobs."""
    request: dict[str, Any] = {"model": job.model, "training_file": training_file,
                               "method": job.method.model_dump(exclude_none=True),
                               "metadata": {"ftm_job_id": job.id, "ftm_project_id": job.project_id}}
    if validation_file:
        request["validation_file"] = validation_file
    if job.suffix:
        request["suffix"] = job.suffix
    if job.seed is not None:
        request["seed"] = job.seed
    return request


def create(ctx: Context, project: Project, body: JobCreate) -> Job | DryRun:
    """Check everything a user can get wrong, then record the job and queue its launch."""
    method = body.resolved_method()
    if body.webhook_url is not None:
        targets.check(ctx.settings, body.webhook_url, "body.webhook_url")
    check_model(ctx, project.id, body.model)
    training = usable_dataset(ctx, project.id, body.training_dataset, method, "training_dataset")
    if body.validation_dataset:
        usable_dataset(ctx, project.id, body.validation_dataset, method, "validation_dataset")
    estimate, report = estimate_for(ctx, training, body.model, method)
    check_budget(ctx, project, body, estimate)
    now = clock.now()
    job = Job(id=ids.new_id("job"), created_at=now, updated_at=now, project_id=project.id,
              model=body.model, training_dataset=training.id,
              validation_dataset=body.validation_dataset, method=method, suffix=body.suffix,
              seed=body.seed, metadata=body.metadata, estimate=estimate,
              webhook_url=body.webhook_url, last_activity_at=now)
    if body.dry_run:
        request = provider_request(job, f"<file of {training.id}>",
                                   f"<file of {body.validation_dataset}>"
                                   if body.validation_dataset else None)
        return DryRun(estimate=estimate, report=report, provider_request=request)
    def write(pipe: Pipeline) -> None:
        index.count_status_change(ctx, None, job.status, pipe)
        idempotency.complete_claimed(ctx, pipe, 202, [
            ("location", f"/v1/jobs/{job.id}"), ("content-type", "application/json")],
            orjson.dumps(job.model_dump(mode="json")))

    ctx.store.create(job, project.id, also_write=write)
    faults.point(ctx, "jobs.create.recorded")
    events.record(ctx, job.id, "status", "Job created", data={"from": None, "to": "pending"})
    index.mark_due(ctx, job.id, now + 30)
    ctx.enqueue(Task.launch_job, job.id)
    return job


def job_from_remote(remote: FineTuningJob, job_id: str, project_id: str, why: str) -> Job:
    """A service job following a provider job that the service did not launch itself."""
    now = clock.now()
    method = (METHOD.validate_python(remote.method.model_dump(exclude_none=True))
              if remote.method is not None else SupervisedMethod(type="supervised"))
    return Job(id=job_id, created_at=remote.created_at or now, updated_at=now,
               project_id=project_id, status=JobStatus.preparing, model=remote.model,
               training_dataset=remote.training_file, validation_dataset=remote.validation_file,
               method=method, seed=remote.seed, imported=True, last_activity_at=now,
               provider=ProviderRef(job_id=remote.id, training_file=remote.training_file,
                                    validation_file=remote.validation_file),
               metadata={"imported_because": why})


def track(ctx: Context, job: Job) -> Job:
    """Record a job that follows an existing provider job and sync it at once."""
    assert job.provider.job_id is not None
    provider_job_id = job.provider.job_id
    def index_it(pipe: Pipeline) -> None:
        index.link_provider_job(ctx, provider_job_id, job.id, pipe)
        index.count_status_change(ctx, None, job.status, pipe)

    ctx.store.create(job, job.project_id, also_write=index_it)
    events.record(ctx, job.id, "status", f"Following provider job {provider_job_id}",
                  data={"from": None, "to": job.status})
    index.mark_due(ctx, job.id, 0)
    ctx.enqueue(Task.sync_job, job.id)
    return job


def import_job(ctx: Context, project: Project, body: JobImport) -> Job:
    """Follow a provider job created elsewhere; the first sync fills it in. Another project's
    job is answered as one the provider does not know."""
    tracked = index.job_of_provider_job(ctx, body.provider_job_id)
    owner = ctx.store.get(Job, tracked) if tracked else None
    if owner is not None and owner.project_id == project.id:
        raise ProviderJobAlreadyTracked(f"{body.provider_job_id} is already tracked.")
    try:
        remote = ctx.provider.retrieve_job(body.provider_job_id)
    except ProviderRejected as exc:
        if exc.provider_status != 404:
            raise
        raise ProviderJobNotFound(body.provider_job_id) from None
    if tracked:
        raise ProviderJobNotFound(body.provider_job_id)
    return track(ctx, job_from_remote(remote, ids.new_id("job"), project.id, "import"))


def cancel(ctx: Context, project_id: str, job_id: str) -> Job:
    """Cancel at once while nothing runs at the provider, else ask the provider (in a task)."""
    job = get(ctx, project_id, job_id)
    if job.status in TERMINAL:
        raise InvalidJobState(f"A {job.status} job cannot be cancelled.")
    job = ctx.store.update(Job, job_id, lambda j: j.evolve(cancel_requested=True))
    if job.provider.job_id is None:
        # A launch racing with this finds the job cancelled and cancels what it created.
        cancelled = lifecycle.move(ctx, job_id, JobStatus.cancelled, reason="cancelled by the user")
        if cancelled is not None:
            return cancelled
    ctx.enqueue(Task.control_job, job.id, JobAction.cancel)
    return job


def pause(ctx: Context, project_id: str, job_id: str) -> Job:
    job = get(ctx, project_id, job_id)
    if job.status != JobStatus.running:
        raise InvalidJobState(f"Only a running job can be paused; this one is {job.status}.")
    ctx.enqueue(Task.control_job, job.id, JobAction.pause)
    return job


def resume(ctx: Context, project_id: str, job_id: str) -> Job:
    job = get(ctx, project_id, job_id)
    if job.status != JobStatus.paused:
        raise InvalidJobState(f"Only a paused job can be resumed; this one is {job.status}.")
    ctx.enqueue(Task.control_job, job.id, JobAction.resume)
    return job
