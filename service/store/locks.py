"""Expiring locks, so a dead holder never blocks forever."""

import secrets
import threading
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


def is_held(client: redis.Redis, name: str, resource_id: str) -> bool:
    return bool(client.exists(keys.lock(name, resource_id)))


TAKE_OR_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""


def take_or_renew(client: redis.Redis, name: str, resource_id: str, token: str,
                  ttl: float) -> bool:
    """Hold the lock as token for ttl more seconds: renew it if token holds it, take it if free."""
    return bool(client.eval(TAKE_OR_RENEW, 1, keys.lock(name, resource_id), token,
                            int(ttl * 1000)))


@contextmanager
def hold_renewed(client: redis.Redis, name: str, resource_id: str, ttl: float) -> Iterator[bool]:
    """As hold, but renewed every third of ttl while held: a short ttl then bounds how long a
    dead holder blocks, not how long a live one may work."""
    key, token = keys.lock(name, resource_id), secrets.token_hex(16)
    held = bool(client.set(key, token, nx=True, px=int(ttl * 1000)))
    stop = threading.Event()
    renewer = threading.Thread(target=renew_until, args=(client, key, token, ttl, stop),
                               daemon=True)
    if held:
        renewer.start()
    try:
        yield held
    finally:
        if held:
            stop.set()
            renewer.join()
            client.eval(RELEASE, 1, key, token)


RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def renew_until(client: redis.Redis, key: str, token: str, ttl: float,
                stop: threading.Event) -> None:
    while not stop.wait(ttl / 3):
        try:
            client.eval(RENEW, 1, key, token, int(ttl * 1000))
        except redis.RedisError:
            pass  # the store is away: the next turn tries again; the lock may lapse meanwhile
