"""The gate in front of /v1: request log, latency, API-key check and injected failures.

/__emulator/ routes pass straight through; they are never delayed, failed or logged.
"""

import asyncio
import math
import secrets
import sys
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.errors import error_response
from emulator.state import State, now

Settle = Callable[[State, float], None]
KEY_HELP = "You can find your API key at https://platform.openai.com/account/api-keys."
FAILURES = {
    429: (("Rate limit reached for requests in organization org-emulator on requests per min "
           "(RPM): Limit 500, Used 500, Requested 1. Please try again in {seconds}s. Visit "
           "https://platform.openai.com/account/rate-limits to learn more."), "requests",
          "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!",
          "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
}


class Gate:
    """ASGI middleware applying the emulator's faults to /v1 requests."""

    def __init__(self, app: ASGIApp, state: State, settle: Settle) -> None:
        self.app, self.state, self.settle = app, state, settle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state, at = self.state, now()
        self.settle(state, at)
        if not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return
        entry: dict[str, Any] = {"method": scope["method"], "path": scope["path"],
                                 "status": None, "timestamp": at, "fault": None}
        state.requests.append(entry)
        state.request_total += 1
        request_id = ("req_" + secrets.token_hex(16)).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                message = {**message, "headers": [
                    *message.get("headers", []), (b"x-request-id", request_id),
                    (b"openai-organization", b"emulator"), (b"openai-version", b"2020-10-01"),
                    (b"openai-processing-ms", b"1")]}
            await send(message)

        if state.faults.latency_ms > 0:
            await asyncio.sleep(state.faults.latency_ms / 1000)
        refusal = check_key(scope) or inject(state, scope["method"], scope["path"], entry)
        try:
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            print(f"emulator: {scope['method']} {scope['path']} failed: {exc!r}",
                  file=sys.stderr, flush=True)
            if entry["status"] is None:
                await failure(500, state)(scope, receive, send_with_headers)


def check_key(scope: Scope) -> Any:
    """401 like OpenAI for a missing or malformed key; None when the key looks right."""
    headers = dict(scope["headers"])
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        return error_response(401, "You didn't provide an API key. You need to provide your API "
                                   "key in an Authorization header using Bearer auth (i.e. "
                                   f"Authorization: Bearer YOUR_KEY). {KEY_HELP}",
                              code="invalid_api_key")
    key = auth[7:].strip()
    if not key.startswith("sk-"):
        masked = key[:3] + "*" * 6 + key[-4:] if len(key) > 8 else "*" * len(key)
        return error_response(401, f"Incorrect API key provided: {masked}. {KEY_HELP}",
                              code="invalid_api_key")
    return None


def inject(state: State, method: str, path: str, entry: dict[str, Any]) -> Any:
    """The injected failure for this request, if one is due."""
    faults = state.faults
    rule = faults.fail_next
    if rule["count"] > 0 and rule.get("method") in (None, method) \
            and path.startswith(rule.get("path") or ""):
        rule["count"] -= 1
        entry["fault"] = "fail_next"
        return failure(rule["status"], state, rule)
    if faults.rate_limit_fraction and state.random.random() < faults.rate_limit_fraction:
        entry["fault"] = "rate_limit"
        return failure(429, state)
    if faults.error_fraction and state.random.random() < faults.error_fraction:
        entry["fault"] = "error"
        return failure(faults.error_status, state)
    return None


def failure(status: int, state: State, rule: dict[str, Any] | None = None) -> Any:
    """OpenAI's answer for an injected status (or the rule's error object); 429 and 503 say
    when to retry."""
    wait_ms = state.faults.retry_after_ms
    message, kind, code = FAILURES.get(
        status, (f"The emulator injected a {status} error.", "server_error"
                 if status >= 500 else "invalid_request_error", None))
    rule = rule or {}
    message, kind, code = (rule.get("message") or message, rule.get("type") or kind,
                           rule.get("code") or code)
    headers = {}
    if status in (429, 503):
        headers = {"retry-after": str(max(0, math.ceil(wait_ms / 1000))),
                   "retry-after-ms": str(wait_ms)}
    if status == 429:
        headers.update({"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests":
                        "0", "x-ratelimit-reset-requests": f"{wait_ms}ms"})
    return error_response(status, message.format(seconds=round(wait_ms / 1000, 3)), type=kind,
                          param=rule.get("param"), code=code, headers=headers)
