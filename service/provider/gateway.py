"""The one door to OpenAI: timeouts, retries with backoff honouring Retry-After, a request-rate
cap shared by every process, and the SDK's errors mapped to the service's own."""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import openai
import redis
from openai.types import FileObject
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from service.errors import (
    ProviderAuthFailed,
    ProviderCapacity,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from service.logs import log, redact
from service.settings import Settings
from service.store.buckets import Bucket

T = TypeVar("T")
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
                                provider_status=exc.status_code)
    return ProviderUnavailable(f"The provider is unavailable: {message}",
                               headers={"Retry-After": "5"})


class Gateway:
    """Every provider call goes through `call`/`acall`."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "missing"
        options = {"api_key": key, "base_url": settings.openai_base_url,
                   "organization": settings.openai_org_id,
                   "timeout": settings.openai_timeout_seconds, "max_retries": 0}
        self.client = openai.OpenAI(**options)  # type: ignore[arg-type]
        self._async_options = options
        self.attempts = settings.openai_max_retries + 1
        self.base_delay = settings.openai_retry_base_seconds
        rpm = settings.openai_requests_per_minute
        self.bucket = Bucket(client, "openai", rpm, capacity=max(1.0, rpm / 60.0),
                             count_grants=True)

    def new_async_client(self) -> openai.AsyncOpenAI:
        """A client for the running event loop (httpx async clients are bound to one loop)."""
        return openai.AsyncOpenAI(**self._async_options)  # type: ignore[arg-type]

    def backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = retry_after(exc)
        if hinted is not None:
            return hinted
        exponential = self.base_delay * 2 ** (state.attempt_number - 1)
        return min(MAX_RETRY_AFTER, exponential * (0.5 + random.random()))

    def log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("provider.retry", attempt=state.attempt_number, error=type(exc).__name__)

    def retrying(self) -> Retrying:
        return Retrying(stop=stop_after_attempt(self.attempts), wait=self.backoff,
                        retry=retry_if_exception(is_transient), before_sleep=self.log_retry,
                        reraise=True)

    def wait_for_turn(self) -> None:
        while (wait := self.bucket.take()) > 0:
            time.sleep(wait)

    async def await_turn(self) -> None:
        while (wait := self.bucket.take()) > 0:
            await asyncio.sleep(wait)

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """fn(*args, **kwargs) under the shared rate cap, retried while transient."""
        try:
            for attempt in self.retrying():
                with attempt:
                    self.wait_for_turn()
                    return fn(*args, **kwargs)
        except openai.OpenAIError as exc:
            raise to_service_error(exc) from None
        raise AssertionError("unreachable")

    def find_file(self, purpose: str, name: str, size: int) -> FileObject | None:
        """A usable provider file of that name and size: one an interrupted run uploaded but
        did not record."""
        page = self.call(self.client.files.list, purpose=purpose, limit=10000)
        while True:
            for file in page.data:
                if file.filename == name and file.bytes == size and file.status != "error":
                    return file
            if not page.has_next_page():
                return None
            page = self.call(page.get_next_page)

    async def acall(self, fn: Callable[..., Awaitable[T]], *args: object,
                    **kwargs: object) -> T:
        retrying = AsyncRetrying(stop=stop_after_attempt(self.attempts), wait=self.backoff,
                                 retry=retry_if_exception(is_transient),
                                 before_sleep=self.log_retry, reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    await self.await_turn()
                    return await fn(*args, **kwargs)
        except openai.OpenAIError as exc:
            raise to_service_error(exc) from None
        raise AssertionError("unreachable")
