"""Wrong credentials throttled per client address: after `auth_failures_per_window` failures in
a window, the address is answered 429 until the window ends, whatever key it sends next."""

import redis.asyncio

from service.context import Context
from service.errors import TooManyFailedAttempts
from service.store import keys


def check(ctx: Context, address: str) -> None:
    """TooManyFailedAttempts while the address is over its allowance; the key is not looked at."""
    key = keys.auth_failures(address)
    pipe = ctx.redis.pipeline(transaction=False)
    pipe.get(key)
    pipe.ttl(key)
    count, ttl = pipe.execute()
    refuse_if_over(count, ttl, ctx.settings.auth_failures_per_window)


async def check_on_loop(client: redis.asyncio.Redis, ctx: Context, address: str) -> None:
    """check() through an asyncio client."""
    key = keys.auth_failures(address)
    pipe = client.pipeline(transaction=False)
    pipe.get(key)
    pipe.ttl(key)
    count, ttl = await pipe.execute()
    refuse_if_over(count, ttl, ctx.settings.auth_failures_per_window)


def refuse_if_over(count: bytes | None, ttl: int, allowed: int) -> None:
    if count is not None and int(count) >= allowed:
        raise TooManyFailedAttempts(max(1, int(ttl)))


def record_failure(ctx: Context, address: str) -> None:
    key = keys.auth_failures(address)
    pipe = ctx.redis.pipeline()
    pipe.set(key, 0, ex=ctx.settings.auth_failure_window_seconds, nx=True)
    pipe.incr(key)
    pipe.execute()


async def record_failure_on_loop(client: redis.asyncio.Redis, ctx: Context, address: str) -> None:
    key = keys.auth_failures(address)
    pipe = client.pipeline()
    pipe.set(key, 0, ex=ctx.settings.auth_failure_window_seconds, nx=True)
    pipe.incr(key)
    await pipe.execute()
