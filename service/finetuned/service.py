"""What the model routes call: the project's fine-tuned models and the configured base models."""

from service.context import Context
from service.deletion import Deleted
from service.errors import ModelNotDeletable, ModelNotFound, ProviderRejected
from service.finetuned import registry
from service.finetuned.models import FineTunedModel, ModelList, ModelOut
from service.logs import log

BASE_OWNER = "openai"


def is_base(ctx: Context, model: str) -> bool:
    """A configured base model: usable for chat or embeddings, never deletable."""
    return model in ctx.settings.chat_models or model in ctx.settings.embedding_models


def list_active(ctx: Context, project_id: str) -> ModelList:
    """The project's fine-tuned models that still exist, newest first, then the configured base
    models it may use (as OpenAI lists an account's models)."""
    models = ctx.store.scan(FineTunedModel, project_id)
    tuned = [model.public() for model in models if model.status == "active"]
    bases = dict.fromkeys([*ctx.settings.chat_models, *ctx.settings.embedding_models])
    return ModelList(data=[*tuned, *(base_model(name) for name in bases)])


def base_model(model: str) -> ModelOut:
    return ModelOut(id=model, created=0, owned_by=BASE_OWNER)


def get(ctx: Context, project_id: str, model: str) -> ModelOut:
    """The project's fine-tuned model (deleted ones too) or a configured base model."""
    record = registry.owned(ctx, project_id, model)
    if record is not None:
        return record.public()
    if is_base(ctx, model):
        return base_model(model)
    raise ModelNotFound(model)


def delete(ctx: Context, project_id: str, model: str) -> Deleted:
    """Delete the fine-tuned model on the provider and mark it deleted; repeating it answers
    alike."""
    record = registry.owned(ctx, project_id, model)
    if record is None:
        if is_base(ctx, model):
            raise ModelNotDeletable(f"{model!r} is a base model; only this project's fine-tuned "
                                    "models can be deleted.")
        raise ModelNotFound(model)
    if record.status == "active":
        delete_on_provider(ctx, model)
        ctx.store.update(FineTunedModel, model, lambda current: current.evolve(status="deleted"))
        log.info("model.deleted", model=model, project_id=project_id)
    return Deleted(id=model, object="model")


def delete_on_provider(ctx: Context, model: str) -> None:
    """Delete model on the provider; gone there already counts as done."""
    try:
        ctx.provider.delete_model(model)
    except ProviderRejected as exc:
        if exc.provider_status != 404:
            raise
        # Deleted there already (by an earlier attempt that died before recording it, or by hand).
        log.info("model.delete.already_gone", model=model)
