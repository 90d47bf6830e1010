"""The policy every OpenAI request goes through: retries with backoff honouring Retry-After, a
request-rate cap shared by every process, metrics and spans, and the SDK's errors mapped to the
service's own. `OpenAIProvider` (service/provider/openai.py) sends every request through it."""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar

import openai
import redis
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from service import tracing
from service.errors import (
    ProviderAuthFailed,
    ProviderCapacity,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from service.logs import log, redact
from service.metrics import (
    PROVIDER_REQUESTS,
    PROVIDER_RETRIES,
    PROVIDER_SECONDS,
    RATE_LIMIT_WAIT_SECONDS,
    RATE_LIMIT_WAITS,
)
from service.settings import Settings
from service.store.buckets import Bucket

T = TypeVar("T")
Item_co = TypeVar("Item_co", covariant=True)
MAX_RETRY_AFTER = 60.0
CAPACITY_HINTS = ("job limit", "active job", "jobs limit", "concurrent")


def is_capacity_refusal(exc: BaseException) -> bool:
    """OpenAI answers 429 when the account's active or daily job limit is reached."""
    return (isinstance(exc, openai.RateLimitError)
            and any(hint in exc.message.lower() for hint in CAPACITY_HINTS))


def is_transient(exc: BaseException) -> bool:
    if is_capacity_refusal(exc):
        return False
    if isinstance(exc, openai.RateLimitError | openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def retry_after(exc: BaseException | None) -> float | None:
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(header, "")) * scale
        except ValueError:
            continue
        if 0 <= seconds <= MAX_RETRY_AFTER:
            return seconds
    return None


def outcome_of(exc: BaseException) -> str:
    """A bounded label for how a provider request ended."""
    if is_capacity_refusal(exc):
        return "capacity"
    for kind, outcome in ((openai.RateLimitError, "rate_limited"),
                          (openai.APIConnectionError, "connection_error"),
                          (openai.AuthenticationError | openai.PermissionDeniedError,
                           "auth_failed")):
        if isinstance(exc, kind):
            return outcome
    if isinstance(exc, openai.APIStatusError):
        return "server_error" if exc.status_code >= 500 else "rejected"
    return "error"


def route_of(fn: Callable[..., object], args: tuple[object, ...]) -> str:
    """The SDK method below openai.resources (fine_tuning.jobs.create), or a raw call's path."""
    owner = getattr(fn, "__self__", None)
    module = type(owner).__module__ if owner is not None else getattr(fn, "__module__", "")
    name = getattr(fn, "__name__", "call")
    if module.startswith("openai.resources."):
        parts: list[str] = []
        for part in module.removeprefix("openai.resources.").split("."):
            if not parts or parts[-1] != part:  # fine_tuning.jobs.jobs -> fine_tuning.jobs
                parts.append(part)
        return ".".join([*parts, name])
    if args and isinstance(args[0], str):  # client.post("/chat/completions", ...)
        return args[0].strip("/").replace("/", ".")
    return name.removeprefix("get_")


@contextmanager
def measured(route: str) -> Iterator[None]:
    """One provider request: counted by outcome, timed, and a client span when tracing."""
    started, outcome = time.perf_counter(), "ok"
    try:
        with tracing.client_span(f"openai {route}", {"ftm.provider.route": route}):
            yield
    except BaseException as exc:
        outcome = outcome_of(exc)
        raise
    finally:
        PROVIDER_REQUESTS.labels(route, outcome).inc()
        PROVIDER_SECONDS.labels(route).observe(time.perf_counter() - started)


def to_service_error(exc: openai.OpenAIError) -> ProviderError:
    """The service's error for an SDK error; messages are scrubbed of anything key-like."""
    message = redact(getattr(exc, "message", str(exc)))
    if is_capacity_refusal(exc):
        return ProviderCapacity(f"The provider refused new work: {message}")
    if isinstance(exc, openai.RateLimitError):
        wait = retry_after(exc) or 10
        return ProviderRateLimited(f"The provider is rate limiting: {message}",
                                   headers={"Retry-After": str(max(1, round(wait)))})
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ProviderAuthFailed("The provider refused the service's credentials.")
    if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
        return ProviderRejected(f"The provider rejected the request: {message}",
                                param=exc.param, provider_code=exc.code,
                                provider_status=exc.status_code,
                                provider_error=provider_error(exc))
    return ProviderUnavailable(f"The provider is unavailable: {message}",
                               headers={"Retry-After": "5"})


def provider_error(exc: openai.APIStatusError) -> dict[str, object]:
    """The provider's error object as it sent it, key-like values scrubbed."""
    body = exc.body if isinstance(exc.body, dict) else {}
    return {"message": redact(str(body.get("message", exc.message))),
            "type": body.get("type", exc.type), "param": body.get("param", exc.param),
            "code": body.get("code", exc.code)}


class Page(Protocol[Item_co]):
    """One page of an SDK list: its items and the way to the next."""

    @property
    def data(self) -> Sequence[Item_co]: ...

    def has_next_page(self) -> bool: ...

    def get_next_page(self) -> "Page[Item_co]": ...


class Gateway:
    """Every provider request goes through `call`/`acall`; lists that page through `each`."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.attempts = settings.openai_max_retries + 1
        self.base_delay = settings.openai_retry_base_seconds
        rpm = settings.openai_requests_per_minute
        self.bucket = Bucket(client, "openai", rpm, capacity=max(1.0, rpm / 60.0),
                             count_grants=True)

    def backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = retry_after(exc)
        if hinted is not None:
            return hinted
        exponential = self.base_delay * 2.0 ** (state.attempt_number - 1)
        return min(MAX_RETRY_AFTER, exponential * (0.5 + random.random()))

    def log_retry(self, route: str) -> Callable[[RetryCallState], None]:
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            PROVIDER_RETRIES.labels(route).inc()
            log.warning("provider.retry", route=route, attempt=state.attempt_number,
                        error=type(exc).__name__)
        return before_sleep

    def retrying(self, route: str) -> Retrying:
        return Retrying(stop=stop_after_attempt(self.attempts), wait=self.backoff,
                        retry=retry_if_exception(is_transient),
                        before_sleep=self.log_retry(route), reraise=True)

    def wait_for_turn(self) -> None:
        while (wait := self.bucket.take()) > 0:
            count_wait(wait)
            time.sleep(wait)

    async def await_turn(self) -> None:
        while (wait := self.bucket.take()) > 0:
            count_wait(wait)
            await asyncio.sleep(wait)

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """fn(*args, **kwargs) under the shared rate cap, retried while transient."""
        route = route_of(fn, args)
        try:
            for attempt in self.retrying(route):
                with attempt:
                    self.wait_for_turn()
                    with measured(route):
                        return fn(*args, **kwargs)
        except openai.OpenAIError as exc:
            raise to_service_error(exc) from None
        raise AssertionError("unreachable")

    def pages(self, fn: Callable[..., Page[T]], *args: object,
              **kwargs: object) -> Iterator[Page[T]]:
        """The pages of the list fn(*args, **kwargs), each asked for only when the one before
        is used up; each a request of its own under the policy."""
        page = self.call(fn, *args, **kwargs)
        while True:
            yield page
            if not page.has_next_page():
                return
            page = self.call(page.get_next_page)

    def each(self, fn: Callable[..., Page[T]], *args: object, **kwargs: object) -> Iterator[T]:
        """The items of every page of the list, in order; a caller that stops early asks for
        no further page."""
        for page in self.pages(fn, *args, **kwargs):
            yield from page.data

    async def acall(self, fn: Callable[..., Awaitable[T]], *args: object,
                    **kwargs: object) -> T:
        route = route_of(fn, args)
        retrying = AsyncRetrying(stop=stop_after_attempt(self.attempts), wait=self.backoff,
                                 retry=retry_if_exception(is_transient),
                                 before_sleep=self.log_retry(route), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    await self.await_turn()
                    with measured(route):
                        return await fn(*args, **kwargs)
        except openai.OpenAIError as exc:
            raise to_service_error(exc) from None
        raise AssertionError("unreachable")


def count_wait(seconds: float) -> None:
    RATE_LIMIT_WAITS.inc()
    RATE_LIMIT_WAIT_SECONDS.inc(seconds)
