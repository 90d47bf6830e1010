"""Wrong credentials throttled per client address: after `auth_failures_per_window` failures in
a window, the address is answered 429 until the window ends, whatever key it sends next."""

from service.context import Context
from service.errors import TooManyFailedAttempts
from service.projects import repository
from service.store.clients import AsyncClient


def check(ctx: Context, address: str) -> None:
    """TooManyFailedAttempts while the address is over its allowance; the key is not looked at."""
    count, ttl = repository.failures(ctx.redis, address)
    refuse_if_over(count, ttl, ctx.settings.auth_failures_per_window)


async def check_on_loop(client: AsyncClient, ctx: Context, address: str) -> None:
    """check() through an asyncio client."""
    count, ttl = await repository.failures_on_loop(client, address)
    refuse_if_over(count, ttl, ctx.settings.auth_failures_per_window)


def refuse_if_over(count: bytes | None, ttl: int, allowed: int) -> None:
    if count is not None and int(count) >= allowed:
        raise TooManyFailedAttempts(max(1, int(ttl)))


def record_failure(ctx: Context, address: str) -> None:
    repository.count_failure(ctx.redis, address, ctx.settings.auth_failure_window_seconds)


async def record_failure_on_loop(client: AsyncClient, ctx: Context, address: str) -> None:
    await repository.count_failure_on_loop(client, address,
                                           ctx.settings.auth_failure_window_seconds)
