"""Outbound webhooks signed like OpenAI's (Standard Webhooks), delivered with a few retries."""

import asyncio
import json
import time
from typing import Any

import httpx

from emulator.signing import sign
from emulator.state import State, new_id

ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 2.0)
pending: set[asyncio.Task[None]] = set()


def notify(state: State, event_type: str, resource_id: str, created_at: int) -> None:
    """Send `event_type` about resource_id if a webhook is configured (fire and forget)."""
    if not state.webhook_url or not state.webhook_secret:
        return
    event = {"object": "event", "id": new_id("evt_"), "type": event_type,
             "created_at": created_at, "data": {"id": resource_id}}
    record: dict[str, Any] = {"event_id": event["id"], "type": event_type,
                              "resource_id": resource_id, "url": state.webhook_url,
                              "attempts": 0, "status_code": None, "delivered": False}
    state.webhook_deliveries.append(record)
    task = asyncio.get_running_loop().create_task(
        deliver(state.webhook_url, state.webhook_secret, event, record))
    pending.add(task)
    task.add_done_callback(pending.discard)


async def deliver(url: str, secret: str, event: dict[str, Any], record: dict[str, Any]) -> None:
    body = json.dumps(event, separators=(",", ":"))
    async with httpx.AsyncClient(timeout=5) as client:
        for attempt in range(ATTEMPTS):
            timestamp = int(time.time())
            headers = {"content-type": "application/json", "user-agent": "OpenAI/1.0",
                       "webhook-id": event["id"], "webhook-timestamp": str(timestamp),
                       "webhook-signature": sign(secret, event["id"], timestamp, body)}
            record["attempts"] = attempt + 1
            try:
                response = await client.post(url, content=body, headers=headers)
                record["status_code"] = response.status_code
                if response.is_success:
                    record["delivered"] = True
                    return
            except httpx.HTTPError as exc:
                record["status_code"] = None
                record["error"] = type(exc).__name__
            if attempt < len(BACKOFF_SECONDS):
                await asyncio.sleep(BACKOFF_SECONDS[attempt])
