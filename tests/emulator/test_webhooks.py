"""Outbound webhooks: signed like OpenAI's, so the SDK's `webhooks.unwrap` accepts them."""

import base64
import json
import secrets
from collections.abc import Iterator

import httpx
import openai
import pytest
import standardwebhooks
from openai import OpenAI

from tests.support.emulator import read, reset, start_emulator
from tests.support.emulator_sdk import create_job, upload, wait_for, wait_for_status
from tests.support.env import EMULATOR_KEY
from tests.support.webhooks import Receiver

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def delivered(receiver: Receiver) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the next webhook the receiver accepted."""
    request = receiver.next()
    return request.body.encode(), request.headers


@pytest.fixture
def receiver(admin: httpx.Client) -> Iterator[Receiver]:
    hook = Receiver(status=200)
    admin.post("/config", json={"webhook_url": hook.url(), "webhook_secret": SECRET})
    yield hook
    hook.close()


def test_success_webhook_verifies_with_the_sdk(client: OpenAI, receiver: Receiver) -> None:
    job = wait_for_status(client, create_job(client).id)
    body, headers = delivered(receiver)
    event = OpenAI(api_key=EMULATOR_KEY, webhook_secret=SECRET).webhooks.unwrap(body, headers)
    assert event.type == "fine_tuning.job.succeeded"
    assert event.data.id == job.id
    assert event.id.startswith("evt_")
    assert event.created_at == job.finished_at
    assert json.loads(body)["object"] == "event"
    assert headers["webhook-id"] == event.id
    standardwebhooks.Webhook(SECRET).verify(body, headers)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        OpenAI(api_key=EMULATOR_KEY).webhooks.unwrap(body.replace(b"job", b"jab"), headers,
                                                     secret=SECRET)


def test_cancel_and_failure_send_their_events(client: OpenAI, receiver: Receiver,
                                              admin: httpx.Client) -> None:
    sdk = OpenAI(api_key=EMULATOR_KEY, webhook_secret=SECRET)
    admin.post("/config", json={"speed": 0.01})
    slow = create_job(client)
    admin.post("/config", json={"speed": 50})
    client.fine_tuning.jobs.cancel(slow.id)
    event = sdk.webhooks.unwrap(*delivered(receiver))
    assert (event.type, event.data.id) == ("fine_tuning.job.cancelled", slow.id)
    broken = create_job(client, upload(client, [{"messages": []}] * 10))
    event = sdk.webhooks.unwrap(*delivered(receiver))
    assert (event.type, event.data.id) == ("fine_tuning.job.failed", broken.id)
    assert client.fine_tuning.jobs.retrieve(broken.id).status == "failed"


def test_failed_delivery_is_retried(client: OpenAI, receiver: Receiver,
                                    admin: httpx.Client) -> None:
    receiver.fail_first = 1
    job = wait_for_status(client, create_job(client).id)
    body, _ = delivered(receiver)
    assert json.loads(body)["data"]["id"] == job.id
    deliveries = wait_for(lambda: [d for d in admin.get("/webhooks").json()["data"]
                                   if d["delivered"]])
    assert [(d["type"], d["attempts"], d["status_code"]) for d in deliveries] == [
        ("fine_tuning.job.succeeded", 2, 200)]


def test_webhook_configured_on_the_command_line() -> None:
    hook = Receiver(status=200)
    process, url = start_emulator("--speed", "50", "--webhook-url", hook.url(),
                                  "--webhook-secret", SECRET)
    try:
        reset(url)  # keeps command-line settings
        assert read(url, "config")["webhook_url"] == hook.url()
        with OpenAI(base_url=f"{url}/v1", api_key=EMULATOR_KEY, max_retries=0) as client:
            job = create_job(client)
            event = OpenAI(api_key=EMULATOR_KEY).webhooks.unwrap(*delivered(hook), secret=SECRET)
        assert (event.type, event.data.id) == ("fine_tuning.job.succeeded", job.id)
    finally:
        process.terminate()
        process.wait(5)
        hook.close()
