"""OpenAI's webhooks to the service: verified by the provider, fine_tuning.job.* events make
that job due for a sync at once (polling stays the fallback)."""

from collections.abc import Mapping
from typing import Any

from service.context import Context
from service.errors import WebhookNotConfigured
from service.jobs import sync
from service.logs import log
from service.webhooks.models import Received

JOB_EVENTS = "fine_tuning.job."


def receive_openai(ctx: Context, body: bytes, headers: Mapping[str, str]) -> Received:
    """Verify an OpenAI webhook and act on it; any verified event is answered as received."""
    secret = ctx.settings.openai_webhook_secret
    if secret is None:
        raise WebhookNotConfigured("This service has no OpenAI webhook secret; set "
                                   "OPENAI_WEBHOOK_SECRET to accept OpenAI webhooks.")
    event = ctx.provider.unwrap_webhook(body, headers, secret.get_secret_value())
    event_type = str(getattr(event, "type", ""))
    provider_job_id = id_of(getattr(event, "data", None))
    if not event_type.startswith(JOB_EVENTS) or provider_job_id is None:
        log.info("openai.webhook.ignored", event_type=event_type)
        return Received()
    known = sync.make_due_by_provider_job(ctx, provider_job_id)
    log.info("openai.webhook.received", event_type=event_type, provider_job_id=provider_job_id,
             known=known)
    return Received()


def id_of(data: Any) -> str | None:
    value = data.get("id") if isinstance(data, dict) else getattr(data, "id", None)
    return value if isinstance(value, str) and value else None
