"""Standard Webhooks signatures, as OpenAI signs its webhooks (stdlib only)."""

import base64
import hashlib
import hmac


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header: v1,<base64 HMAC-SHA256 of "id.timestamp.body">."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def is_valid_secret(secret: str) -> bool:
    """whsec_ followed by non-empty base64."""
    if not secret.startswith("whsec_"):
        return False
    try:
        return len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) > 0
    except ValueError:
        return False
