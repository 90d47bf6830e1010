"""Tokens and estimated cost of playground requests, per project and model: a Redis hash for
operators, a Prometheus counter and a log line."""

from functools import lru_cache
from pathlib import Path

import orjson
import redis
from prometheus_client import Counter

from service.context import Context
from service.datasets.pricing import PriceTable, load_prices
from service.errors import InvalidRequest
from service.logs import log
from service.playground import repository

TOKENS = Counter("ftm_playground_tokens_total", "Tokens used through the playground, by the "
                 "model's kind (base, fine_tuned) and the tokens' (prompt, completion)",
                 ["model_kind", "kind"])
Tokens = tuple[int, int]


@lru_cache(maxsize=4)
def price_table(path: Path) -> PriceTable:
    """The price table at path, read once."""
    return load_prices(path)


def reported(body: str | bytes) -> Tokens | None:
    """(prompt, completion) tokens of a provider answer or chunk that reports its usage."""
    if isinstance(body, str):
        body = body.encode()
    if b'"usage"' not in body:
        return None
    try:
        usage = orjson.loads(body).get("usage")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (prompt if isinstance(prompt, int) else 0,
            completion if isinstance(completion, int) else 0)


def estimate_cost(ctx: Context, model: str, tokens: Tokens) -> float | None:
    try:
        return price_table(ctx.settings.price_table).inference_cost(model, *tokens)
    except InvalidRequest:
        return None  # not in the price table (embedding models are not)


def record(ctx: Context, project_id: str, model: str, tokens: Tokens | None) -> None:
    """Count one request and, when the provider reported them, its tokens and cost."""
    prompt, completion = tokens or (0, 0)
    cost = estimate_cost(ctx, model, (prompt, completion)) if tokens else None
    try:
        repository.add_usage(ctx.redis, project_id, model, prompt, completion, cost)
    except redis.RedisError as exc:
        # The answer is already on its way; losing a count must not break it.
        log.warning("playground.usage.not_recorded", model=model, error=type(exc).__name__)
    model_kind = "fine_tuned" if model.startswith("ft:") else "base"  # ids would be unbounded
    TOKENS.labels(model_kind, "prompt").inc(prompt)
    TOKENS.labels(model_kind, "completion").inc(completion)
    log.info("playground.usage", project_id=project_id, model=model, prompt_tokens=prompt,
             completion_tokens=completion, cost_usd=cost, reported=tokens is not None)
