"""Append-only event streams (one Redis Stream per resource), each provider event added once."""

from collections.abc import AsyncGenerator
from typing import Any, cast

import orjson
import redis
import redis.asyncio

from service.store import keys

PREFIX = "ev_"
# KEYS[1] stream, KEYS[2] set of seen source ids; ARGV[1] source id ('' = always), ARGV[2] json.
APPEND_ONCE = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[1], '*', 'json', ARGV[2])
"""


def to_stream_id(event_id: str) -> str:
    return event_id.removeprefix(PREFIX)


Entry = tuple[bytes, dict[bytes, bytes]]


def entries(reply: object) -> list[Entry]:
    """A stream range as the client answers it (bytes: decode_responses is off)."""
    return cast(list[Entry], reply)


def decode(entry: Entry) -> dict[str, Any]:
    stream_id, fields = entry
    event: dict[str, Any] = orjson.loads(fields[b"json"])
    event["id"] = PREFIX + stream_id.decode()
    return event


def is_valid_id(event_id: str) -> bool:
    head, _, tail = to_stream_id(event_id).partition("-")
    return event_id.startswith(PREFIX) and is_u64(head) and (tail == "" or is_u64(tail))


def is_u64(text: str) -> bool:
    """ASCII digits Redis takes as one half of a stream id (a larger one breaks the read)."""
    return text.isascii() and text.isdigit() and int(text) < 2**64


class EventLog:
    """The events of one kind of resource, by resource id."""

    def __init__(self, client: redis.Redis, kind: str) -> None:
        self.redis, self.kind = client, kind
        self.script = client.register_script(APPEND_ONCE)

    def stream(self, resource_id: str) -> str:
        return keys.record_part(self.kind, resource_id, "events")

    def append(self, resource_id: str, event: dict[str, Any], source_id: str = "") -> str | None:
        """Add event; with source_id, only the first time that id is seen. Answer its id."""
        seen = keys.record_part(self.kind, resource_id, "seen")
        added = self.script(keys=[self.stream(resource_id), seen],
                            args=[source_id, orjson.dumps(event)])
        return PREFIX + added.decode() if added else None

    def append_in(self, pipe: "redis.client.Pipeline", resource_id: str,
                  event: dict[str, Any]) -> None:
        """Add event inside a caller's transaction (no dedup)."""
        pipe.xadd(self.stream(resource_id), {"json": orjson.dumps(event)})

    def has_seen(self, resource_id: str, source_id: str) -> bool:
        seen = keys.record_part(self.kind, resource_id, "seen")
        return bool(self.redis.sismember(seen, source_id))

    def after(self, resource_id: str, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Events oldest first, strictly after the event id `after`."""
        start = f"({to_stream_id(after)}" if after else "-"
        found = self.redis.xrange(self.stream(resource_id), start, "+", count=limit)
        return [decode(entry) for entry in entries(found)]

    def newest(self, resource_id: str, limit: int) -> list[dict[str, Any]]:
        """The latest events, newest first."""
        entries: list[Any] = self.redis.xrevrange(  # type: ignore[assignment]
            self.stream(resource_id), count=limit)
        return [decode(entry) for entry in entries]

    def all(self, resource_id: str) -> list[dict[str, Any]]:
        return [decode(entry) for entry in entries(self.redis.xrange(self.stream(resource_id)))]

    def delete(self, resource_id: str) -> None:
        self.redis.delete(self.stream(resource_id),
                          keys.record_part(self.kind, resource_id, "seen"))


async def read_after(client: redis.asyncio.Redis, stream: str, after: str | None,
                     block_ms: int) -> list[dict[str, Any]]:
    """Wait up to block_ms for events after `after` (None: from the first)."""
    start = to_stream_id(after) if after else "0-0"
    answer = await client.xread({stream: start}, count=100, block=block_ms)
    streams = cast(list[tuple[bytes, list[Entry]]], answer)
    return [decode(entry) for _, found in streams for entry in found]


async def follow(url: str, stream: str, after: str | None,
                 block_ms: int) -> AsyncGenerator[dict[str, Any] | None]:
    """The stream's events after `after` (None: from the first) as they are added, for as long
    as the caller reads; None after each block_ms without one, so the caller may look around.

    Through a client of its own: each blocking read holds its connection. Close the iterator
    (contextlib.aclosing) to close the client at once."""
    client = redis.asyncio.Redis.from_url(url)
    try:
        while True:
            batch = await read_after(client, stream, after, block_ms)
            for event in batch:
                after = event["id"]
                yield event
            if not batch:
                yield None
    finally:
        await client.aclose()
