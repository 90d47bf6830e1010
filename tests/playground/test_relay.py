"""Relaying the provider's event stream: framing kept, a broken stream ends in an error event."""

import asyncio
from collections.abc import AsyncIterator

import httpx2
import orjson


class Chunks(httpx2.AsyncByteStream):
    def __init__(self, *parts: bytes, broken: bool = False) -> None:
        self.parts, self.broken, self.closed = parts, broken, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        if self.broken:
            raise httpx2.ReadError("connection reset by peer")

    async def aclose(self) -> None:
        self.closed = True


def relayed(ctx, stream: Chunks) -> list[str]:
    # Imported here, not at collection: importing service.datasets.pricing before the app flips
    # the order of a cached `Literal["auto"] | int` union in the jobs schema (see test_project).
    from service.playground.chat import relay_chunks

    async def collect() -> list[str]:
        response = httpx2.Response(200, stream=stream)
        return [event async for event in relay_chunks(ctx, "proj_x", "gpt-4o-mini", response)]

    return asyncio.run(collect())


def test_events_are_reframed_whole_and_end_with_done(ctx):
    stream = Chunks(b': keep-alive\n\ndata: {"a": ', b'1}\n\ndata:{"b": 2}\r\n\r\n',
                    b'data: [DONE]\n\ndata: {"after": "done"}\n\n')
    assert relayed(ctx, stream) == ['data: {"a": 1}\n\n', 'data: {"b": 2}\n\n', "data: [DONE]\n\n"]
    assert stream.closed


def test_stream_without_done_still_ends_with_done(ctx):
    assert relayed(ctx, Chunks(b'data: {"a": 1}\n\n'))[-1] == "data: [DONE]\n\n"


def test_broken_stream_ends_with_an_error_event(ctx):
    stream = Chunks(b'data: {"a": 1}\n\n', broken=True)
    events = relayed(ctx, stream)
    assert events[0] == 'data: {"a": 1}\n\n'
    assert len(events) == 2
    error = orjson.loads(events[1].removeprefix("data: "))["error"]
    assert error["code"] == "provider_unavailable"
    assert error["type"] == "server_error"
    assert stream.closed
