"""Expiring locks, so a dead holder never blocks forever."""

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import StrEnum

import redis

from service.store import keys


class LockName(StrEnum):
    """Every lock the service takes, each on one kind of resource (its id) or on one task."""
    launch = "launch"  # a job being launched at the provider
    upload = "upload"  # a dataset being uploaded to the provider
    sync = "sync"  # a job being synced with the provider
    reconcile = "reconcile"  # the sweep matching provider jobs with the service's
    deliver = "deliver"  # a webhook delivery being attempted
    pipeline = "pipeline"  # a pipeline being advanced
    evaluation = "evaluation"  # an evaluation's run (its lease)
    dataset = "dataset"  # a dataset being validated
    sweeps = "sweeps"  # the worker that leads the periodic sweeps

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@contextmanager
def hold(client: redis.Redis, name: LockName, resource_id: str, ttl: int) -> Iterator[bool]:
    """Yield True when this caller holds the lock for ttl seconds, False when another does."""
    key, token = keys.lock(name, resource_id), secrets.token_hex(16)
    held = bool(client.set(key, token, nx=True, ex=ttl))
    try:
        yield held
    finally:
        if held:
            client.eval(RELEASE, 1, key, token)


TAKE_OR_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""


def take_or_renew(client: redis.Redis, name: LockName, resource_id: str, token: str,
                  ttl: float) -> bool:
    """Hold the lock as token for ttl more seconds: renew it if token holds it, take it if free."""
    return bool(client.eval(TAKE_OR_RENEW, 1, keys.lock(name, resource_id), token,
                            int(ttl * 1000)))


@contextmanager
def hold_renewed(client: redis.Redis, name: LockName, resource_id: str, ttl: float
                 ) -> Iterator[bool]:
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


def is_held(client: redis.Redis, name: LockName, resource_id: str) -> bool:
    return bool(client.exists(keys.lock(name, resource_id)))


class Lease:
    """A lock its holder takes, renews while it works and releases, each step told apart (for
    work that outlasts any fixed lock and checks between steps whether it still holds it)."""

    def __init__(self, client: redis.Redis, name: LockName, resource_id: str, ttl: int) -> None:
        self.client, self.ttl = client, ttl
        self.key, self.token = keys.lock(name, resource_id), secrets.token_hex(16)
        self.held = False

    def acquire(self) -> bool:
        """True when this holder now has the lock, False when another does."""
        self.held = bool(self.client.set(self.key, self.token, nx=True, ex=self.ttl))
        return self.held

    def renew(self) -> bool:
        """Extend the lease; False when it lapsed and another holder may have taken over."""
        self.held = self.held and bool(self.client.eval(RENEW, 1, self.key, self.token,
                                                        self.ttl * 1000))
        return self.held

    def release(self) -> None:
        if self.held:
            self.client.eval(RELEASE, 1, self.key, self.token)
            self.held = False


RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def renew_until(client: redis.Redis, key: str, token: str, ttl: float,
                stop: threading.Event) -> None:
    while not stop.wait(ttl / 3):
        # The store is away: the next turn tries again; the lock may lapse meanwhile.
        with suppress(redis.RedisError):
            client.eval(RENEW, 1, key, token, int(ttl * 1000))
