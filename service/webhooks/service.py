"""What the webhook routes call, and `notify`, what the rest of the service calls."""

from collections.abc import Iterator
from typing import Any

import orjson

from service import clock, ids
from service.context import Context
from service.deletion import Deleted
from service.errors import NotFound, WebhookNotFound
from service.logs import log
from service.pagination import Page, take_page
from service.webhooks import deliver, repository, signing, targets
from service.webhooks.models import (
    Delivery,
    JobSecret,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookEvent,
)


def create(ctx: Context, project_id: str, body: WebhookCreate) -> WebhookCreated:
    """Record an endpoint with a new signing secret, which this answer alone shows."""
    targets.check(ctx.settings, body.url, "body.url")
    webhook = Webhook(id=ids.new_id("webhook"), created_at=clock.now(), project_id=project_id,
                      url=body.url, events=body.events, description=body.description)
    secret = signing.new_secret()
    ctx.store.create(webhook, project_id,
                     also_write=lambda pipe: repository.save_secret(pipe, webhook.id, secret))
    log.info("webhook.created", webhook_id=webhook.id, events=list(webhook.events))
    return WebhookCreated(**webhook.model_dump(), secret=secret)


def get(ctx: Context, project_id: str, webhook_id: str) -> Webhook:
    webhook = ctx.store.get(Webhook, webhook_id)
    if webhook is None or webhook.project_id != project_id:
        raise WebhookNotFound(webhook_id)
    return webhook


def page(ctx: Context, project_id: str, limit: int, after: str | None) -> Page[Webhook]:
    if after is not None:
        get(ctx, project_id, after)
    return take_page(ctx.store.scan(Webhook, project_id, after=after), limit)


def delete(ctx: Context, project_id: str, webhook_id: str) -> Deleted:
    """Delete the endpoint and its secret; its pending deliveries fail at their next attempt."""
    if not ctx.store.was_deleted(Webhook, webhook_id, project_id):
        get(ctx, project_id, webhook_id)
        ctx.store.bury(Webhook, webhook_id, project_id)
        repository.delete_secret(ctx.redis, webhook_id)
        log.info("webhook.deleted", webhook_id=webhook_id)
    return Deleted(id=webhook_id, object="webhook")


def page_deliveries(ctx: Context, project_id: str, webhook_id: str, limit: int,
                    after: str | None) -> Page[Delivery]:
    """The endpoint's deliveries, newest first."""
    get(ctx, project_id, webhook_id)
    return take_page(scan_deliveries(ctx, webhook_id, after), limit)


def scan_deliveries(ctx: Context, webhook_id: str, after: str | None,
                    batch: int = 100) -> Iterator[Delivery]:
    start = 0
    if after is not None:
        rank = repository.delivery_rank(ctx.redis, webhook_id, after)
        if rank is None:
            raise NotFound("delivery", after)
        start = rank + 1
    while found := repository.delivery_ids(ctx.redis, webhook_id, start, batch):
        yield from ctx.store.get_many(Delivery, found)
        start += len(found)


def rotate_job_secret(ctx: Context, project_id: str) -> JobSecret:
    """A new secret for deliveries to jobs' own webhook_url, shown in this answer only."""
    secret = signing.rotate_job_secret(ctx, project_id)
    log.info("webhook.job_secret_rotated")
    return JobSecret(secret=secret, created_at=clock.now())


def notify(ctx: Context, project_id: str, event_type: str, data: dict[str, Any],
           extra_url: str | None = None) -> None:
    """Queue the event for each of the project's endpoints subscribed to it, and for extra_url.

    extra_url is a job's own webhook_url: it gets every event, signed with the project's job
    secret (skipped when an endpoint already has that URL). The payload is
    {"id": "evt_…", "type", "created_at", "data"}; its id is the webhook-id of every attempt.
    """
    event = WebhookEvent(event_type)
    event_id, now = ids.new_id("event"), clock.now()
    body = orjson.dumps({"id": event_id, "type": event.value, "created_at": now,
                         "data": data}).decode()
    targets: list[tuple[str | None, str]] = [
        (webhook.id, webhook.url) for webhook in ctx.store.scan(Webhook, project_id)
        if event in webhook.events]
    if extra_url and all(url != extra_url for _, url in targets):
        targets.append((None, extra_url))
    for webhook_id, url in targets:
        deliver.queue(ctx, Delivery(
            id=ids.new_id("delivery"), created_at=now, project_id=project_id,
            webhook_id=webhook_id, event_type=event, event_id=event_id, url=url,
            next_attempt_at=now), body)
    log.info("webhook.notified", event_type=event.value, event_id=event_id,
             deliveries=len(targets))
