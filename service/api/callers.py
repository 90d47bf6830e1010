"""Who is calling, resolved per process with short-lived memory so a request costs few round trips.

Keys: a resolved key is remembered for `key_cache_seconds` (under one second), so a key revoked
through another process stops working within that time; this process forgets it at once.
Rate limits: each key's bucket stays shared in Redis; a process takes a few tokens at a time
ahead of need (never more than the bucket refills in a lease's life) and drops what it has not
spent when the lease ends. The shared bucket bounds what every process together lets through.
"""

import asyncio
import math
import threading
import time
from dataclasses import dataclass, field

import redis

from service.context import Context
from service.errors import Unauthorized
from service.projects import service as projects
from service.projects.models import ApiKey, Project
from service.store.buckets import Bucket
from service.store.clients import AsyncClient

LEASE_SECONDS = 0.25
MAX_ENTRIES = 10_000


@dataclass
class Resolved:
    project: Project
    key: ApiKey
    until: float


class KeyCache:
    """Bearer secrets (by their hash) to the project and key behind them, for a moment."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.entries: dict[str, Resolved] = {}

    def remembered(self, secret: str) -> tuple[Project, ApiKey] | None:
        found = self.entries.get(projects.hash_key(secret))
        if found is not None and time.monotonic() < found.until:
            return found.project, found.key
        return None

    def ageing(self, secret: str) -> bool:
        """Remembered, and past half the time it may be."""
        found = self.entries.get(projects.hash_key(secret))
        return found is not None and time.monotonic() > found.until - self.seconds / 2

    def forget_secret(self, secret: str) -> None:
        self.entries.pop(projects.hash_key(secret), None)

    async def resolve_on_loop(self, client: AsyncClient, secret: str) -> tuple[Project, ApiKey]:
        """The project and key behind secret (a Redis read when not remembered), or
        Unauthorized."""
        known = self.remembered(secret)
        if known is not None:
            return known
        return self.remember(secret, *await projects.authenticate_on_loop(client, secret))

    def remember(self, secret: str, project: Project, key: ApiKey) -> tuple[Project, ApiKey]:
        now = time.monotonic()
        if self.seconds > 0:
            if len(self.entries) >= MAX_ENTRIES:
                self.entries = {d: r for d, r in self.entries.items() if now < r.until}
            self.entries[projects.hash_key(secret)] = Resolved(project, key, now + self.seconds)
        return project, key

    def forget(self, key_id: str) -> None:
        self.entries = {d: r for d, r in self.entries.items() if r.key.id != key_id}


@dataclass
class Lease:
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: int = 0
    size: int = 1
    spent: int = 0
    until: float = 0.0
    left: float = 0.0  # in the shared bucket after this process's last take

    def renew(self, size: int, taken: int, wait: float, left: float) -> float:
        """A new lease of what was taken, one token spent at once; else the seconds to wait."""
        self.left = left
        if taken == 0:
            return wait
        self.size, self.tokens, self.spent = size, taken - 1, 1
        self.until = time.monotonic() + LEASE_SECONDS
        return 0.0

    def next_size(self, most: int) -> int:
        """Double after a lease spent in time, else what the last one spent."""
        grown = self.size * 2 if self.tokens == 0 else self.spent
        return max(1, min(most, grown))


class RateLimits:
    """Per-key token buckets shared in Redis, spent from per-process leases."""

    def __init__(self) -> None:
        self.leases: dict[str, Lease] = {}

    def take_leased(self, key_id: str) -> bool:
        """Spend a token of this process's lease when it has one (no Redis). Never waits: while
        a thread refills the lease, the caller goes the slow way, behind it."""
        lease = self.leases.get(key_id)
        if lease is None or not lease.lock.acquire(blocking=False):
            return False
        try:
            if lease.tokens > 0 and time.monotonic() < lease.until:
                lease.tokens -= 1
                lease.spent += 1
                return True
            return False
        finally:
            lease.lock.release()

    async def take_on_loop(self, client: AsyncClient, ctx: Context, key_id: str) -> float:
        """0.0 when the request may go on, else the seconds to wait; callers refill one key's
        lease one at a time."""
        if self.take_leased(key_id):
            return 0.0
        per_minute = ctx.settings.rate_limit_per_minute
        lease = self.leases.get(key_id) or self.leases.setdefault(key_id, Lease())
        bucket = Bucket(client, f"key:{key_id}", per_minute, capacity=per_minute)
        size = lease.next_size(max(1, int(bucket.rate * LEASE_SECONDS)))
        taken, wait, left = await bucket.take_up_to_on_loop(size)
        with lease.lock:
            return lease.renew(size, taken, wait, left)


    def due(self, key_id: str) -> bool:
        """A lease still running, half spent or half through its time."""
        lease = self.leases.get(key_id)
        return (lease is not None and lease.tokens > 0 and time.monotonic() < lease.until
                and (lease.tokens * 2 < lease.size
                     or time.monotonic() > lease.until - LEASE_SECONDS / 2))

    async def top_up(self, client: AsyncClient, ctx: Context, key_id: str) -> None:
        """More tokens for a running lease, before it runs out (twice as many when half of it
        went in under half its time); never more held than the bucket refills in a lease."""
        lease, per_minute = self.leases[key_id], ctx.settings.rate_limit_per_minute
        bucket = Bucket(client, f"key:{key_id}", per_minute, capacity=per_minute)
        most = max(1, int(bucket.rate * LEASE_SECONDS))
        fast = time.monotonic() < lease.until - LEASE_SECONDS / 2
        size = min(most, lease.size * 2 if fast else lease.size)
        if size - lease.tokens < 1:
            return
        taken, _, left = await bucket.take_up_to_on_loop(size - lease.tokens)
        with lease.lock:
            lease.left = left
            if taken:
                lease.size, lease.tokens, lease.spent = size, lease.tokens + taken, 0
                lease.until = time.monotonic() + LEASE_SECONDS

    def headers(self, key_id: str, per_minute: int) -> dict[str, str]:
        """OpenAI's x-ratelimit-* headers for the key, as this process last saw its bucket."""
        lease = self.leases.get(key_id) or Lease(left=per_minute)
        left = max(0, math.floor(lease.left + lease.tokens))
        refill = math.ceil((per_minute - left) * 60 / per_minute)
        return {"x-ratelimit-limit-requests": str(per_minute),
                "x-ratelimit-remaining-requests": str(left),
                "x-ratelimit-reset-requests": f"{refill}s"}


class Gates:
    """One lookup at a time per secret on this process's loop: when a remembered key or its
    lease runs out, the first request refreshes it while the others wait, then use it."""

    STRIPES = 64

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.locks: list[asyncio.Lock] = []

    def of(self, secret: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # locks belong to the loop they first waited on
            self.loop, self.locks = loop, [asyncio.Lock() for _ in range(self.STRIPES)]
        return self.locks[hash(secret) % self.STRIPES]


class Callers:
    def __init__(self, key_cache_seconds: float) -> None:
        self.keys = KeyCache(key_cache_seconds)
        self.limits = RateLimits()
        self.gates = Gates()

        self.refreshing: dict[str, asyncio.Task[None]] = {}

    def admitted(self, secret: str) -> tuple[Project, str] | None:
        """The project and key id of a remembered secret with a token in this process's lease."""
        known = self.keys.remembered(secret)
        if known is not None and self.limits.take_leased(known[1].id):
            return known[0], known[1].id
        return None

    def refresh_ahead(self, client: AsyncClient, ctx: Context, secret: str, key_id: str) -> None:
        """Read an ageing key again and top up a lease running low, in the background, so the
        key's requests never wait for either; a key found revoked is forgotten at once (else
        it still ends with its time)."""
        ageing, due = self.keys.ageing(secret), self.limits.due(key_id)
        if secret in self.refreshing or not (ageing or due):
            return

        async def refresh() -> None:
            try:
                if due:
                    await self.limits.top_up(client, ctx, key_id)
                if ageing:
                    self.keys.remember(secret,
                                       *await projects.authenticate_on_loop(client, secret))
            except Unauthorized:
                self.keys.forget_secret(secret)
            except redis.RedisError:
                pass  # the entry ends with its time; the next request reads the key itself
            finally:
                self.refreshing.pop(secret, None)

        self.refreshing[secret] = asyncio.get_running_loop().create_task(refresh())
