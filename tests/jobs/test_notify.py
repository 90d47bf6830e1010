"""Jobs tell the world: outbound webhooks, inbound provider webhooks; the key stays secret."""

import httpx
import pytest
from standardwebhooks import Webhook as Verifier

from tests.factories import chat_dataset, run_tasks
from tests.support.api import create_job, wait_terminal
from tests.support.env import EMULATOR_KEY, LOCAL_RECEIVERS

INBOUND_SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "openai_webhook_secret": INBOUND_SECRET, **LOCAL_RECEIVERS}


def test_job_events_reach_subscribed_webhooks_signed(client, ctx, auth, receiver):
    hook = client.post("/v1/webhooks", headers=auth, json={
        "url": receiver.url(), "events": ["job.succeeded", "job.status_changed"]}).json()
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    assert wait_terminal(client, ctx, auth, job["id"])["status"] == "succeeded"
    run_tasks(ctx)
    verifier = Verifier(hook["secret"])
    payloads = [verifier.verify(r.body, r.headers) for r in receiver.requests]
    types = [p["type"] for p in payloads]
    assert types.count("job.succeeded") == 1
    changes = [p["data"]["job"]["status"] for p in payloads if p["type"] == "job.status_changed"]
    assert changes[-1] == "succeeded"
    assert "running" in changes
    assert all(p["data"]["job"]["id"] == job["id"] for p in payloads)
    deliveries = client.get(f"/v1/webhooks/{hook['id']}/deliveries?limit=100", headers=auth).json()
    assert len(deliveries["data"]) == len(payloads)
    assert {d["status"] for d in deliveries["data"]} == {"succeeded"}


def test_inbound_provider_webhook_syncs_the_job(client, ctx, auth, emulator, live_url):
    secret = INBOUND_SECRET
    base = emulator.removesuffix("/v1")
    httpx.post(f"{base}/__emulator/config", json={
        "webhook_url": f"{live_url}/v1/providers/openai/webhook",
        "webhook_secret": secret}).raise_for_status()
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    assert wait_terminal(client, ctx, auth, job["id"])["status"] == "succeeded"
    sent = httpx.get(f"{base}/__emulator/webhooks").json()["data"]
    assert sent
    assert all(d["delivered"] for d in sent)


def test_provider_key_appears_nowhere(client, ctx, auth, emulator, capsys, redis_client):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    final = wait_terminal(client, ctx, auth, job["id"])
    answers = [client.get(path, headers=auth).text for path in (
        f"/v1/jobs/{job['id']}", f"/v1/jobs/{job['id']}/events?limit=100", "/v1/jobs",
        f"/v1/datasets/{train}")]
    stored = b"".join(redis_client.dump(k) or b"" for k in redis_client.keys("*"))
    logs = capsys.readouterr()
    assert final["status"] == "succeeded"
    for text in [*answers, logs.out, logs.err]:
        assert EMULATOR_KEY not in text
    assert EMULATOR_KEY.encode() not in stored
