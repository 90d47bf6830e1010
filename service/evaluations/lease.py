"""A lock on one evaluation's run that its holder renews while it works.

An evaluation can run for longer than any fixed lock should last, and a dead worker must not
block it for long: the holder renews a short lease; once it stops renewing, the lease lapses
and the next run takes over where the predictions store says the work stands.
"""

import secrets

import redis

from service.store import keys

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    def __init__(self, client: redis.Redis, evaluation_id: str, ttl: int) -> None:
        self.client, self.ttl = client, ttl
        self.key, self.token = keys.lock("evaluation", evaluation_id), secrets.token_hex(16)
        self.held = False

    def acquire(self) -> bool:
        """True when this run now holds the evaluation, False when another run does."""
        self.held = bool(self.client.set(self.key, self.token, nx=True, ex=self.ttl))
        return self.held

    def renew(self) -> bool:
        """Extend the lease; False when it lapsed and another run may have taken over."""
        self.held = self.held and bool(self.client.eval(RENEW, 1, self.key, self.token,
                                                        self.ttl))
        return self.held

    def release(self) -> None:
        if self.held:
            self.client.eval(RELEASE, 1, self.key, self.token)
            self.held = False
