"""The Redis clients: made here, and named here for the modules that only pass them on."""

import redis
import redis.asyncio
from redis.client import Pipeline

Client = redis.Redis
AsyncClient = redis.asyncio.Redis
Writer = Client | Pipeline  # a client, or a transaction to join

__all__ = ["AsyncClient", "Client", "Pipeline", "Writer", "blob", "connect", "connect_on_loop",
           "is_reachable", "text"]


def connect(url: str) -> Client:
    return redis.Redis.from_url(url, health_check_interval=30)


def connect_on_loop(url: str) -> AsyncClient:
    """An asyncio client; make it on the loop that will use it."""
    return redis.asyncio.Redis.from_url(url, health_check_interval=30)


def is_reachable(client: Client) -> bool:
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


# The clients answer bytes (decode_responses is off); redis-py's types also allow str.
def text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def blob(raw: bytes | str | None) -> bytes | None:
    return raw.encode() if isinstance(raw, str) else raw
