"""Chat completions for the project's active fine-tuned models and the configured base models."""

from collections.abc import AsyncIterator

import httpx2
import orjson

from service.context import Context
from service.errors import ModelDeleted, ModelNotFound
from service.finetuned import registry
from service.logs import log
from service.playground import relay, usage
from service.playground.models import ChatCompletionRequest

PATH = "/chat/completions"
DONE = "[DONE]"
BROKEN = {"error": {"message": "The provider's stream broke off; the answer is incomplete.",
                    "type": "server_error", "param": None, "code": "provider_unavailable"}}


def check_model(ctx: Context, project_id: str, model: str) -> None:
    """Pass a configured base model or an active fine-tuned model of the project."""
    if model in ctx.settings.chat_models:
        return
    record = registry.owned(ctx, project_id, model)
    if record is None:
        raise ModelNotFound(model)
    if record.status == "deleted":
        raise ModelDeleted(model)


async def complete(ctx: Context, project_id: str, body: ChatCompletionRequest) -> bytes:
    """The provider's chat completion, its JSON unchanged."""
    check_model(ctx, project_id, body.model)
    response = await relay.post(ctx, PATH, body.model, body.payload())
    usage.record(ctx, project_id, body.model, usage.reported(response.content))
    return response.content


async def open_stream(ctx: Context, project_id: str, body: ChatCompletionRequest
                      ) -> AsyncIterator[str]:
    """The provider's chunks as server-sent events ending with [DONE].

    The provider has accepted the request when this returns: refusals raise here, before the
    first byte, so they still get their status code.
    """
    check_model(ctx, project_id, body.model)
    response = await relay.post(ctx, PATH, body.model, body.payload(), stream=True)
    return relay_chunks(ctx, project_id, body.model, response)


async def relay_chunks(ctx: Context, project_id: str, model: str,
                       response: httpx2.Response) -> AsyncIterator[str]:
    """Each event's data as it comes, re-framed; the response is closed however this ends."""
    tokens = None
    try:
        async for data in relay.event_data(response):
            if data == DONE:
                break
            tokens = usage.reported(data) or tokens  # only with stream_options.include_usage
            yield relay.frame(data)
        yield relay.frame(DONE)
    except httpx2.HTTPError as exc:
        # Too late for a status code: end with an error event, which the SDKs raise.
        log.warning("playground.stream.broken", model=model, error=type(exc).__name__)
        yield relay.frame(orjson.dumps(BROKEN).decode())
    finally:
        await response.aclose()
        usage.record(ctx, project_id, model, tokens)
