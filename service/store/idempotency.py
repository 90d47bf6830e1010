"""Idempotency-Key entries: a claim while the first request runs, then the answer to replay."""

from service.store import keys
from service.store.clients import Client, Writer, blob


def claim(client: Client, scope: str, key: str, entry: str, seconds: int) -> bool:
    """Write entry unless the key has one; True when written."""
    return bool(client.set(keys.idempotency(scope, key), entry, nx=True, ex=seconds))


def entry(client: Client, scope: str, key: str) -> bytes | None:
    return blob(client.get(keys.idempotency(scope, key)))


def keep(writer: Writer, scope: str, key: str, entry: str, seconds: int) -> None:
    writer.set(keys.idempotency(scope, key), entry, ex=seconds)


def forget(client: Client, scope: str, key: str) -> None:
    client.delete(keys.idempotency(scope, key))
