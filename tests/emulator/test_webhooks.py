"""Outbound webhooks: signed like OpenAI's, so the SDK's `webhooks.unwrap` accepts them."""

import base64
import json
import queue
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import openai
import pytest
import standardwebhooks
from openai import OpenAI

from tests.conftest import EMULATOR_KEY, start_emulator
from tests.emulator.support import create_job, upload, wait_for, wait_for_status

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Receiver:
    """A local HTTP endpoint recording what it is sent; answers the queued statuses first."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.received.put((body, dict(self.headers)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self) -> tuple[bytes, dict[str, str]]:
        return self.received.get(timeout=15)


@pytest.fixture
def receiver(admin: httpx.Client) -> Iterator[Receiver]:
    hook = Receiver()
    admin.post("/config", json={"webhook_url": hook.url, "webhook_secret": SECRET})
    yield hook
    hook.server.shutdown()


def test_success_webhook_verifies_with_the_sdk(client: OpenAI, receiver: Receiver) -> None:
    job = wait_for_status(client, create_job(client).id)
    body, headers = receiver.next()
    event = OpenAI(api_key=EMULATOR_KEY, webhook_secret=SECRET).webhooks.unwrap(body, headers)
    assert event.type == "fine_tuning.job.succeeded"
    assert event.data.id == job.id and event.id.startswith("evt_")
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
    event = sdk.webhooks.unwrap(*receiver.next())
    assert (event.type, event.data.id) == ("fine_tuning.job.cancelled", slow.id)
    broken = create_job(client, upload(client, [{"messages": []}] * 10))
    event = sdk.webhooks.unwrap(*receiver.next())
    assert (event.type, event.data.id) == ("fine_tuning.job.failed", broken.id)
    assert client.fine_tuning.jobs.retrieve(broken.id).status == "failed"


def test_failed_delivery_is_retried(client: OpenAI, receiver: Receiver,
                                    admin: httpx.Client) -> None:
    receiver.statuses = [500]
    job = wait_for_status(client, create_job(client).id)
    body, _ = receiver.next()
    assert json.loads(body)["data"]["id"] == job.id
    deliveries = wait_for(lambda: [d for d in admin.get("/webhooks").json()["data"]
                                   if d["delivered"]])
    assert [(d["type"], d["attempts"], d["status_code"]) for d in deliveries] == [
        ("fine_tuning.job.succeeded", 2, 200)]


def test_webhook_configured_on_the_command_line() -> None:
    hook = Receiver()
    process, url = start_emulator("--speed", "50", "--webhook-url", hook.url,
                                  "--webhook-secret", SECRET)
    try:
        httpx.post(f"{url}/__emulator/reset").raise_for_status()  # keeps command-line settings
        assert httpx.get(f"{url}/__emulator/config").json()["webhook_url"] == hook.url
        with OpenAI(base_url=f"{url}/v1", api_key=EMULATOR_KEY, max_retries=0) as client:
            job = create_job(client)
            event = OpenAI(api_key=EMULATOR_KEY).webhooks.unwrap(*hook.next(), secret=SECRET)
        assert (event.type, event.data.id) == ("fine_tuning.job.succeeded", job.id)
    finally:
        process.terminate()
        process.wait(5)
        hook.server.shutdown()
