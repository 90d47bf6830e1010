"""The project's fine-tuned models, registered by the jobs that made them."""

from service import clock
from service.context import Context
from service.finetuned.models import FineTunedModel


def register(ctx: Context, project_id: str, model: str, base_model: str,
             job_id: str | None) -> FineTunedModel:
    """Record a fine-tuned model once; registering it again changes nothing."""
    existing = ctx.store.get(FineTunedModel, model)
    if existing is not None:
        return existing
    record = FineTunedModel(id=model, created_at=clock.now(), project_id=project_id,
                            base_model=base_model, job_id=job_id)
    ctx.store.create(record, project_id)
    return record


def owned(ctx: Context, project_id: str, model: str) -> FineTunedModel | None:
    record = ctx.store.get(FineTunedModel, model)
    return record if record is not None and record.project_id == project_id else None
