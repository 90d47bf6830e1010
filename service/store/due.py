"""Ids by a time (Redis sorted sets): what is due when, what has waited since when."""

from typing import cast

from service.store.clients import Client, Writer


def put(writer: Writer, key: str, item_id: str, at: float) -> None:
    """Add item_id at time `at`, or move it there."""
    writer.zadd(key, {item_id: at})


def drop(writer: Writer, key: str, item_id: str) -> None:
    writer.zrem(key, item_id)


def due_by(client: Client, key: str, at: float, limit: int) -> list[str]:
    """Up to limit ids whose time is `at` or earlier, earliest first."""
    return ids(client.zrangebyscore(key, "-inf", at, start=0, num=limit))


def size(client: Client, key: str) -> int:
    return client.zcard(key)


def rank_newest_first(client: Client, key: str, item_id: str) -> int | None:
    """item_id's place counting from the latest (0), None when it is not there."""
    rank = client.zrevrank(key, item_id)
    return None if rank is None else cast(int, rank)


def newest_first(client: Client, key: str, start: int, count: int) -> list[str]:
    """count ids from place start, latest time first."""
    return ids(client.zrevrange(key, start, start + count - 1))


def ids(members: object) -> list[str]:
    """Members of a range without their scores, as the client answers them (bytes)."""
    return [raw.decode() for raw in cast(list[bytes], members)]
