"""Requests passed to the provider as raw JSON, so any parameter works; answers read raw, so
they reach the client unchanged."""

from collections.abc import AsyncIterator
from typing import Any

import httpx2

from service.context import Context
from service.errors import ModelNotFound, ProviderRejected


async def post(ctx: Context, path: str, model: str, payload: dict[str, Any], *,
               stream: bool = False) -> httpx2.Response:
    """The provider's 2xx answer to payload, its body still unread when stream is set."""
    try:
        return await ctx.provider.relay(path, payload, stream=stream)
    except ProviderRejected as exc:
        if exc.provider_status == 404:
            # The model is gone on the provider (deleted there by hand): answer as OpenAI would.
            raise ModelNotFound(model) from None
        raise


async def event_data(response: httpx2.Response) -> AsyncIterator[str]:
    """The data of each server-sent event as it arrives; other fields and comments are dropped."""
    lines: list[str] = []
    async for line in response.aiter_lines():
        if line:
            if line.startswith("data:"):
                lines.append(line[5:].removeprefix(" "))
        elif lines:
            yield "\n".join(lines)
            lines = []
    if lines:
        yield "\n".join(lines)


def frame(data: str) -> str:
    """One server-sent event carrying data, framed as OpenAI frames it."""
    return "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
