"""Wrong credentials throttled per client address: after `auth_failures_per_window` failures in
a window, the address is answered 429 until the window ends, whatever key it sends next."""

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
    if count is not None and int(count) >= ctx.settings.auth_failures_per_window:
        raise TooManyFailedAttempts(max(1, int(ttl)))


def record_failure(ctx: Context, address: str) -> None:
    key = keys.auth_failures(address)
    pipe = ctx.redis.pipeline()
    pipe.set(key, 0, ex=ctx.settings.auth_failure_window_seconds, nx=True)
    pipe.incr(key)
    pipe.execute()
