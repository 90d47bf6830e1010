"""ASGI middleware for what every route shares: request ids, access logs, metrics, store
outages, body limits, idempotency."""

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

import redis
import structlog
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import idempotency
from service.api.contract import NOT_IDEMPOTENT
from service.api.problems import error_response
from service.context import Context
from service.errors import (
    HeadersTooLarge,
    MalformedJson,
    PayloadTooLarge,
    RequestTimeout,
    ServiceError,
    StoreUnavailable,
    UriTooLong,
)
from service.logs import log
from service.settings import Settings

REQUESTS = Counter("ftm_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("ftm_http_request_duration_seconds",
                    "HTTP request duration (event streams left out)", ["method", "route"])
STREAMED = b"text/event-stream"
BODILESS = ("GET", "HEAD", "DELETE", "OPTIONS")

UPLOAD_OVERHEAD = 1 << 20
UPLOAD_PATHS = ("/v1/datasets",)


async def send_error(scope: Scope, receive: Receive, send: Send, exc: ServiceError) -> None:
    response = error_response(Request(scope), exc.status, exc.code, exc.detail, exc.errors,
                              exc.headers)
    await response(scope, receive, send)


class Edge:
    """What every request passes through, as one layer: an X-Request-ID on every answer, the
    key's x-ratelimit-* headers, one access-log line and metrics per request; 503
    store_unavailable with Retry-After, not a 500, while Redis cannot be reached (the client's
    pool reconnects by itself once it is back); then the limits on what a client sends and
    idempotent POSTs (a bodiless request only has its URL and headers measured)."""

    def __init__(self, app: ASGIApp, context: Callable[[], Context]) -> None:
        self.app, self.context = app, context
        self.with_body = BodyLimit(Idempotency(app, context), context)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = header(scope, b"x-request-id")[:200] or f"req_{uuid.uuid4().hex}"
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started, status, streamed, answered = time.perf_counter(), 500, False, False
        tagged = request_id.encode("latin-1", "replace")

        async def send_with_id(message: Message) -> None:
            nonlocal status, streamed, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                streamed = tag(message, tagged, scope.get("state", {}).get("rate_headers"))
            await send(message)

        try:
            await self.guarded(scope, receive, send_with_id, lambda: answered)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            observe(scope["method"], route, status, None if streamed else seconds)
            state: MutableMapping[str, Any] = scope.get("state", {})
            log.info("http.request", method=scope["method"], route=route,
                     path=scope["path"], status=status, duration_ms=round(seconds * 1000, 1),
                     project_id=state.get("project_id"))
            structlog.contextvars.unbind_contextvars("request_id")

    async def guarded(self, scope: Scope, receive: Receive, send: Send,
                      answering: Callable[[], bool]) -> None:
        try:
            if scope["method"] not in BODILESS:
                return await self.with_body(scope, receive, send)
            refused = head_refusal(scope, self.context().settings)
            if refused is not None:
                return await send_error(scope, receive, send, refused)
            await self.app(scope, receive, send)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("store.unavailable", path=scope["path"], error=type(exc).__name__)
            if not answering():  # a stream already answering ends here
                await send_error(scope, receive, send, StoreUnavailable())


def header(scope: Scope, name: bytes) -> str:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def tag(message: Message, request_id: bytes, rate_headers: dict[str, str] | None) -> bool:
    """Adds the request id and the rate-limit headers the answer has not set; whether it is an
    event stream."""
    raw = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
    names = {k.lower() for k, _ in raw}
    raw.append((b"x-request-id", request_id))
    for name, value in (rate_headers or {}).items():
        if name.encode() not in names:
            raw.append((name.encode(), value.encode()))
    message["headers"] = raw
    return any(k.lower() == b"content-type" and v.startswith(STREAMED) for k, v in raw)


CHILDREN: dict[tuple[str, ...], tuple[Any, Any]] = {}


def observe(method: str, route: str, status: int, seconds: float | None) -> None:
    """Counts the request, and its duration unless it streamed (a stream lasts as long as its
    client stays); label sets looked up once."""
    labels = (method, route, str(status))
    children = CHILDREN.get(labels)
    if children is None:
        children = CHILDREN[labels] = (REQUESTS.labels(*labels), LATENCY.labels(method, route))
    children[0].inc()
    if seconds is not None:
        children[1].observe(seconds)


class BodyLimit:
    """Limits on what a client sends: URL and header size at once; a body's size by
    Content-Length at once, else while it arrives; its pace (a client that stops or trickles is
    timed out, 408); a JSON body must be UTF-8.

    Uploads stream through their route, which sees the error raised mid-stream; other bodies
    are small and read here up to the limit.
    """

    def __init__(self, app: ASGIApp, context: Callable[[], Context]) -> None:
        self.app, self.context = app, context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        settings = self.context().settings
        refused = head_refusal(scope, settings)
        if refused is not None:
            return await send_error(scope, receive, send, refused)
        if scope["method"] in BODILESS:
            return await self.app(scope, receive, send)
        is_upload = scope["method"] == "POST" and scope["path"] in UPLOAD_PATHS
        limit = (settings.max_upload_bytes + UPLOAD_OVERHEAD if is_upload
                 else settings.max_body_bytes)
        too_large = PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            return await send_error(scope, receive, send, too_large)
        receive = paced(receive, settings)
        if not is_upload:
            try:
                body = await read_body(receive, limit)
            except (PayloadTooLarge, RequestTimeout) as exc:
                return await send_error(scope, receive, send, exc)
            if is_json(headers) and not is_utf8(body):
                return await send_error(scope, receive, send, MalformedJson(
                    "The request body is not valid JSON: it is not UTF-8 text.",
                    errors=[{"field": "body", "message": "not UTF-8"}]))
            return await self.app(scope, replay_body(body, receive), send)
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large
            return message

        await self.app(scope, counting_receive, send)


def head_refusal(scope: Scope, settings: Settings) -> ServiceError | None:
    """Why the request line or headers are too big to serve, if they are."""
    url_bytes = len(scope.get("raw_path") or scope["path"]) + len(scope.get("query_string", b""))
    if url_bytes > settings.max_url_bytes:
        return UriTooLong(f"The URL is over the limit of {settings.max_url_bytes} bytes.")
    raw = scope["headers"]
    if (len(raw) > settings.max_header_count
            or sum(len(k) + len(v) for k, v in raw) > settings.max_header_bytes):
        return HeadersTooLarge(f"The request headers are over the limit of "
                               f"{settings.max_header_count} headers or "
                               f"{settings.max_header_bytes} bytes.")
    return None


def paced(receive: Receive, settings: Settings) -> Receive:
    """receive, timed out (RequestTimeout) when the next piece of the body takes longer than
    the idle timeout, or when after that long the body comes slower than the minimum rate."""
    idle, rate = settings.body_idle_timeout_seconds, settings.body_min_bytes_per_second
    started, seen, whole = time.monotonic(), 0, False

    async def timed() -> Message:
        nonlocal seen, whole
        if whole:  # the body is in; what follows (a disconnect) may take as long as it takes
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), idle)
        except TimeoutError:
            raise RequestTimeout(f"No part of the request body came for {idle:g} s.") from None
        whole = message["type"] != "http.request" or not message.get("more_body")
        seen += len(message.get("body", b""))
        took = time.monotonic() - started
        if message.get("more_body") and took > idle and seen < rate * took:
            raise RequestTimeout(f"The request body came at {seen / took:.0f} bytes/s, under "
                                 f"the minimum of {rate} bytes/s.")
        return message

    return timed


def is_json(headers: Headers) -> bool:
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Idempotency:
    """Replays the first answer to a POST with the same Idempotency-Key and JSON body.

    Uploads (multipart) are fingerprinted by their route, which knows the file's sha256.
    """

    def __init__(self, app: ASGIApp, context: Callable[[], Context]) -> None:
        self.app, self.context = app, context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if (scope["method"] != "POST" or not key
                or scope["path"].startswith(NOT_IDEMPOTENT)
                or headers.get("content-type", "").startswith("multipart/")):
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        ctx = self.context()
        scope_id = auth_scope(headers)
        request_fingerprint = idempotency.json_fingerprint(scope["method"], scope["path"], body)
        try:
            stored = idempotency.claim(ctx, scope_id, key, request_fingerprint)
        except ServiceError as exc:
            return await send_error(scope, receive, send, exc)
        if stored is not None:
            return await replay(stored, send)
        claimed = idempotency.CLAIMED.set((scope_id, key, request_fingerprint))
        try:
            await self.run_and_store(scope, replay_body(body, receive), send, ctx, scope_id, key,
                                     request_fingerprint)
        finally:
            idempotency.CLAIMED.reset(claimed)

    async def run_and_store(self, scope: Scope, receive: Receive, send: Send, ctx: Context,
                            scope_id: str, key: str, request_fingerprint: str) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            status = start.get("status", 500)
            if 200 <= status < 300:
                kept = [(k.decode(), v.decode()) for k, v in start.get("headers", [])
                        if k.lower() not in (b"content-length", b"x-request-id")]
                idempotency.complete(ctx, scope_id, key, request_fingerprint, status, kept,
                                     b"".join(chunks))
            else:
                idempotency.release(ctx, scope_id, key)


def auth_scope(headers: Headers) -> str:
    """Keys are scoped to the credential that sent them."""
    return hashlib.sha256(headers.get("authorization", "").encode()).hexdigest()[:32]


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    chunks, seen = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        seen += len(chunk)
        if limit is not None and seen > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """The request's body, already read, then what the client sends next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def replay(stored: idempotency.Stored, send: Send) -> None:
    body = stored.body.encode()
    headers = [(k.encode(), v.encode()) for k, v in stored.headers]
    headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
