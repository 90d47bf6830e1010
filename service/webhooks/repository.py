"""Beside the webhook and delivery records: signing secrets, each delivery's body, the pending
deliveries by when their next attempt is due, receivers resting after a timeout."""

from service.store import due, keys
from service.store.clients import Client, Pipeline, blob, text


def save_secret(pipe: Pipeline, webhook_id: str, secret: str) -> None:
    """In the transaction creating the webhook (kept apart so the record stays the answer)."""
    pipe.set(keys.webhook_secret(webhook_id), secret)


def delete_secret(client: Client, webhook_id: str) -> None:
    client.delete(keys.webhook_secret(webhook_id))


def secret(client: Client, webhook_id: str) -> str | None:
    raw = client.get(keys.webhook_secret(webhook_id))
    return None if raw is None else text(raw)


def job_secret(client: Client, project_id: str, new: str) -> str:
    """The project's secret for jobs' own webhook_url: `new` when it has none yet."""
    key = keys.project_webhook_secret(project_id)
    client.set(key, new, nx=True)
    raw = client.get(key)
    assert raw is not None
    return text(raw)


def replace_job_secret(client: Client, project_id: str, secret: str) -> None:
    client.set(keys.project_webhook_secret(project_id), secret)


def save_delivery(pipe: Pipeline, delivery_id: str, webhook_id: str | None, body: str,
                  due_at: float, listed_at: float) -> None:
    """In the transaction creating the delivery: its body, pending since due_at, and (for a
    webhook's) its place in the webhook's list."""
    pipe.set(keys.delivery_payload(delivery_id), body)
    due.put(pipe, keys.deliveries_pending(), delivery_id, due_at)
    if webhook_id is not None:
        due.put(pipe, keys.webhook_deliveries(webhook_id), delivery_id, listed_at)


def body(client: Client, delivery_id: str) -> bytes | None:
    return blob(client.get(keys.delivery_payload(delivery_id)))


def mark_pending(pipe: Pipeline, delivery_id: str, due_at: float) -> None:
    due.put(pipe, keys.deliveries_pending(), delivery_id, due_at)


def unmark_pending(pipe: Pipeline, delivery_id: str) -> None:
    due.drop(pipe, keys.deliveries_pending(), delivery_id)


def pending_due_by(client: Client, at: float, limit: int) -> list[str]:
    return due.due_by(client, keys.deliveries_pending(), at, limit)


def delivery_rank(client: Client, webhook_id: str, delivery_id: str) -> int | None:
    """The delivery's place in its webhook's list, newest first (0); None when not there."""
    return due.rank_newest_first(client, keys.webhook_deliveries(webhook_id), delivery_id)


def delivery_ids(client: Client, webhook_id: str, start: int, count: int) -> list[str]:
    """count ids of the webhook's deliveries from place start, newest first."""
    return due.newest_first(client, keys.webhook_deliveries(webhook_id), start, count)


def rest(client: Client, origin: str, until: float, seconds: float) -> None:
    """The receiver at origin rests until `until` (Unix seconds), forgotten `seconds` from now."""
    client.set(keys.webhook_receiver_rest(origin), until, px=max(1, int(seconds * 1000)))


def resting_until(client: Client, origin: str) -> float | None:
    until = client.get(keys.webhook_receiver_rest(origin))
    return float(until) if until is not None else None
