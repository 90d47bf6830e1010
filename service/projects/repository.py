"""Beside the project and key records: API keys by hash, failed sign-ins by client address.

The `_on_loop` forms do the same through an asyncio client."""

from service.store import keys
from service.store.clients import AsyncClient, Client, Pipeline, text


def index_key(pipe: Pipeline, key_hash: str, key_id: str) -> None:
    """In the transaction creating the key: find it by the hash of its secret."""
    pipe.set(keys.api_key_hash(key_hash), key_id)


def unindex_key(pipe: Pipeline, key_hash: str) -> None:
    pipe.delete(keys.api_key_hash(key_hash))


def key_id_by_hash(client: Client, key_hash: str) -> str | None:
    raw = client.get(keys.api_key_hash(key_hash))
    return text(raw) if raw else None


async def key_id_by_hash_on_loop(client: AsyncClient, key_hash: str) -> str | None:
    raw = await client.get(keys.api_key_hash(key_hash))
    return text(raw) if raw else None


def failures(client: Client, address: str) -> tuple[bytes | None, int]:
    """The address's failures in the current window, and the seconds the window has left."""
    key = keys.auth_failures(address)
    pipe = client.pipeline(transaction=False)
    pipe.get(key)
    pipe.ttl(key)
    count, ttl = pipe.execute()
    return count, ttl


async def failures_on_loop(client: AsyncClient, address: str) -> tuple[bytes | None, int]:
    key = keys.auth_failures(address)
    pipe = client.pipeline(transaction=False)
    pipe.get(key)
    pipe.ttl(key)
    count, ttl = await pipe.execute()
    return count, ttl


def count_failure(client: Client, address: str, window_seconds: int) -> None:
    """One more failure; the first one opens a window of window_seconds."""
    key = keys.auth_failures(address)
    pipe = client.pipeline()
    pipe.set(key, 0, ex=window_seconds, nx=True)
    pipe.incr(key)
    pipe.execute()


async def count_failure_on_loop(client: AsyncClient, address: str, window_seconds: int) -> None:
    key = keys.auth_failures(address)
    pipe = client.pipeline()
    pipe.set(key, 0, ex=window_seconds, nx=True)
    pipe.incr(key)
    await pipe.execute()
