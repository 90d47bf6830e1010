"""A project's playground use per model, kept in Redis for operators."""

from service.store import keys
from service.store.clients import Client


def add_usage(client: Client, project_id: str, model: str, prompt_tokens: int,
              completion_tokens: int, cost_usd: float | None) -> None:
    """Count one request, its tokens and (when known and not zero) its cost."""
    key = keys.usage(project_id, model)
    pipe = client.pipeline(transaction=False)
    pipe.hincrby(key, "requests", 1)
    pipe.hincrby(key, "prompt_tokens", prompt_tokens)
    pipe.hincrby(key, "completion_tokens", completion_tokens)
    if cost_usd:
        pipe.hincrbyfloat(key, "cost_usd", cost_usd)
    pipe.execute()
