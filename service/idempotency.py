"""Idempotency-Key: the same key and request replay the first answer; another request is a 409."""

import hashlib
from contextvars import ContextVar
from typing import Literal

import orjson
from pydantic import BaseModel

from service.context import Context
from service.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from service.store import idempotency as entries
from service.store.clients import Pipeline

KEEP_SECONDS = 26 * 3600
CLAIM_SECONDS = 120
# (scope, key, fingerprint) of the claim the request being served holds, if any
CLAIMED: ContextVar[tuple[str, str, str] | None] = ContextVar("idempotency_claimed", default=None)


class Stored(BaseModel):
    state: Literal["pending", "done"]
    fingerprint: str
    status: int = 0
    headers: list[tuple[str, str]] = []
    body: str = ""


def fingerprint(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def json_fingerprint(method: str, path: str, body: bytes) -> str:
    """Same parsed JSON → same fingerprint, whatever the key order or spacing."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    return fingerprint(method, path, canonical)


def claim(ctx: Context, scope: str, key: str, request_fingerprint: str) -> Stored | None:
    """Take the key for this request (None), or answer the finished first response to replay."""
    pending = Stored(state="pending", fingerprint=request_fingerprint)
    if entries.claim(ctx.redis, scope, key, pending.model_dump_json(), CLAIM_SECONDS):
        return None
    raw = entries.entry(ctx.redis, scope, key)
    if raw is None:  # expired between the two calls
        return claim(ctx, scope, key, request_fingerprint)
    stored = Stored.model_validate_json(raw)
    if stored.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used with a different request.")
    if stored.state == "pending":
        raise IdempotencyKeyInUse(f"A request with Idempotency-Key {key!r} is still running.",
                                  headers={"Retry-After": "1"})
    return stored


def complete(ctx: Context, scope: str, key: str, request_fingerprint: str, status: int,
             headers: list[tuple[str, str]], body: bytes, pipe: Pipeline | None = None) -> None:
    """Keep the answer to replay; with pipe, in the transaction that writes what it answers."""
    done = Stored(state="done", fingerprint=request_fingerprint, status=status, headers=headers,
                  body=body.decode("utf-8", "replace"))
    entries.keep(pipe or ctx.redis, scope, key, done.model_dump_json(), KEEP_SECONDS)


def complete_claimed(ctx: Context, pipe: Pipeline, status: int, headers: list[tuple[str, str]],
                     body: bytes) -> None:
    """In the transaction creating what the request answers, keep that answer now: a retry after
    the process died replays it rather than creating it again."""
    claimed = CLAIMED.get()
    if claimed is not None:
        complete(ctx, *claimed, status, headers, body, pipe)


def release(ctx: Context, scope: str, key: str) -> None:
    """Forget a claim whose request failed, so an honest retry runs again."""
    entries.forget(ctx.redis, scope, key)
