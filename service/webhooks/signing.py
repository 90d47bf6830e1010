"""Standard Webhooks signing: secrets made here and kept in Redis, each attempt signed afresh.

These are the service's own signing secrets, shared with the receivers of its deliveries; the
service must read them back to sign, so they are stored as they are (unlike API keys, which
are only hashed). None of them is the provider API key, which is never stored.
"""

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook as Signer

from service.context import Context
from service.webhooks import repository
from service.webhooks.models import Delivery

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """whsec_ + base64 of 24 random bytes, the Standard Webhooks format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def job_secret(ctx: Context, project_id: str) -> str:
    """The project's secret for deliveries to jobs' own webhook_url, made on first use."""
    return repository.job_secret(ctx.redis, project_id, new_secret())


def rotate_job_secret(ctx: Context, project_id: str) -> str:
    """A new job-URL secret; later attempts, retries included, are signed with it."""
    secret = new_secret()
    repository.replace_job_secret(ctx.redis, project_id, secret)
    return secret


def secret_for(ctx: Context, delivery: Delivery) -> str | None:
    """The secret to sign a delivery with; None once its webhook was deleted."""
    if delivery.webhook_id is None:
        return job_secret(ctx, delivery.project_id)
    return repository.secret(ctx.redis, delivery.webhook_id)


def signed_headers(secret: str, message_id: str, body: str, at: int) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature (v1,<base64 HMAC-SHA256>)."""
    timestamp = datetime.fromtimestamp(at, tz=UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(at),
            "webhook-signature": Signer(secret).sign(message_id, timestamp, body)}
