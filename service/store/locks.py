"""Expiring locks, so a dead holder never blocks forever."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from service.store import keys

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@contextmanager
def hold(client: redis.Redis, name: str, resource_id: str, ttl: int) -> Iterator[bool]:
    """Yield True when this caller holds the lock for ttl seconds, False when another does."""
    key, token = keys.lock(name, resource_id), secrets.token_hex(16)
    held = bool(client.set(key, token, nx=True, ex=ttl))
    try:
        yield held
    finally:
        if held:
            client.eval(RELEASE, 1, key, token)
