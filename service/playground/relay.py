"""Requests passed to the provider as raw JSON, so any parameter works; answers read raw, so
they reach the client unchanged."""

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any
from weakref import WeakKeyDictionary

import httpx2
import openai

from service.context import Context
from service.errors import ModelNotFound, ProviderRejected
from service.provider.gateway import Gateway

Clients = WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI]
_clients: WeakKeyDictionary[Gateway, Clients] = WeakKeyDictionary()
_clients_lock = threading.Lock()


def async_client(gateway: Gateway) -> openai.AsyncOpenAI:
    """The gateway's async client for the running loop, built once per loop: an async client
    is bound to one loop, and building one takes ~20 ms (TLS set-up) of the loop's time."""
    loop = asyncio.get_running_loop()
    with _clients_lock:
        per_loop = _clients.setdefault(gateway, WeakKeyDictionary())
        client = per_loop.get(loop)
        if client is None:
            client = per_loop[loop] = gateway.new_async_client()
        return client


async def post(ctx: Context, path: str, model: str, payload: dict[str, Any], *,
               stream: bool = False) -> httpx2.Response:
    """The provider's 2xx answer to payload, its body still unread when stream is set."""
    client = async_client(ctx.gateway)
    try:
        return await ctx.gateway.acall(client.post, path, cast_to=httpx2.Response, body=payload,
                                       stream=stream)
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
