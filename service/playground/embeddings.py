"""Embeddings for the configured embedding models, passed through."""

from service.context import Context
from service.errors import ModelNotFound
from service.playground import relay, usage
from service.playground.models import EmbeddingRequest

PATH = "/embeddings"


async def create(ctx: Context, project_id: str, body: EmbeddingRequest) -> bytes:
    """The provider's embeddings, its JSON unchanged (base64 vectors when asked for)."""
    if body.model not in ctx.settings.embedding_models:
        raise ModelNotFound(body.model)
    response = await relay.post(ctx, PATH, body.model, body.payload())
    usage.record(ctx, project_id, body.model, usage.reported(response.content))
    return response.content
