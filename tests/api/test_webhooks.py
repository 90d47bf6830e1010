import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook as Signer

from service.store import keys
from service.webhooks.service import notify
from tests.support.api import new_project_key, problem

OPENAI_SECRET = "whsec_" + base64.b64encode(b"openai-test-secret-0123456789").decode()
EVENTS = ["job.succeeded", "job.failed"]


def create(client, auth, url="https://hooks.example.com/ftm", events=EVENTS, **extra):
    return client.post("/v1/webhooks", json={"url": url, "events": events, **extra}, headers=auth)


def signed_openai(body: str, secret: str = OPENAI_SECRET, message_id: str = "msg_1",
                  at: int | None = None) -> dict[str, str]:
    """Headers as OpenAI sends them: the Standard Webhooks scheme."""
    at = at or int(time.time())
    signature = Signer(secret).sign(message_id, datetime.fromtimestamp(at, tz=UTC), body)
    return {"webhook-id": message_id, "webhook-timestamp": str(at),
            "webhook-signature": signature, "content-type": "application/json"}


def openai_event(event_type="fine_tuning.job.succeeded", job="ftjob-abc") -> str:
    return json.dumps({"object": "event", "id": "evt_1", "type": event_type,
                       "created_at": int(time.time()), "data": {"id": job}})


def test_create_answers_the_secret_once(client, auth):
    response = create(client, auth, description="ci")
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/v1/webhooks/{created['id']}"
    assert created["id"].startswith("wh_")
    assert created["object"] == "webhook"
    assert created["events"] == EVENTS
    assert created["description"] == "ci"
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 24
    one = client.get(f"/v1/webhooks/{created['id']}", headers=auth)
    listed = client.get("/v1/webhooks", headers=auth)
    for later in (one, listed):
        assert later.status_code == 200
        assert secret not in later.text
        assert "secret" not in later.text
    assert one.json() == {k: v for k, v in created.items() if k != "secret"}


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "https://x.example", "events": ["job.succeeded", "job.exploded"]}, "body.events.1"),
    ({"url": "https://x.example", "events": []}, "body.events"),
    ({"url": "ftp://x.example/hook", "events": ["job.failed"]}, "body.url"),
    ({"url": "not a url", "events": ["job.failed"]}, "body.url"),
    ({"events": ["job.failed"]}, "body.url"),
])
def test_bad_webhook_is_422_naming_the_field(client, auth, body, field):
    response = client.post("/v1/webhooks", json=body, headers=auth)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}


def test_every_documented_event_is_accepted(client, auth):
    events = ["job.succeeded", "job.failed", "job.cancelled", "job.status_changed",
              "job.stalled", "evaluation.completed", "pipeline.completed"]
    assert create(client, auth, events=events).json()["events"] == events


def test_list_is_newest_first_and_paged(client, auth):
    ids = [create(client, auth, url=f"https://hooks.example.com/{n}").json()["id"]
           for n in range(3)]
    first = client.get("/v1/webhooks?limit=2", headers=auth).json()
    assert [w["id"] for w in first["data"]] == ids[::-1][:2]
    assert first["has_more"] is True
    rest = client.get(f"/v1/webhooks?limit=2&after={first['last_id']}", headers=auth).json()
    assert [w["id"] for w in rest["data"]] == [ids[0]]
    assert rest["has_more"] is False


def test_delete_answers_the_same_when_repeated(client, auth, redis_client):
    webhook_id = create(client, auth).json()["id"]
    for _ in range(2):
        response = client.delete(f"/v1/webhooks/{webhook_id}", headers=auth)
        assert response.status_code == 200
        assert response.json() == {"id": webhook_id, "object": "webhook", "deleted": True}
    assert client.get(f"/v1/webhooks/{webhook_id}", headers=auth).json()["code"] == \
        "webhook_not_found"
    assert redis_client.get(keys.webhook_secret(webhook_id)) is None
    assert client.get("/v1/webhooks", headers=auth).json()["data"] == []


def test_another_projects_webhook_is_404(client, auth):
    webhook_id = create(client, auth).json()["id"]
    _, other = new_project_key(client, "other")
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/deliveries")):
        response = client.request(method, f"/v1/webhooks/{webhook_id}{path}", headers=other)
        problem(response, 404, "webhook_not_found")
    client.delete(f"/v1/webhooks/{webhook_id}", headers=auth)
    assert client.delete(f"/v1/webhooks/{webhook_id}", headers=other).status_code == 404


def test_deliveries_are_listed_newest_first(client, ctx):
    project_id, auth = new_project_key(client, "hooks")
    webhook_id = create(client, auth).json()["id"]
    notify(ctx, project_id, "job.succeeded", {"job": {"id": "job_1"}})
    notify(ctx, project_id, "job.failed", {"job": {"id": "job_2"}})
    notify(ctx, project_id, "job.stalled", {"job": {"id": "job_3"}})  # not subscribed
    page = client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=auth).json()
    assert [d["event_type"] for d in page["data"]] == ["job.failed", "job.succeeded"]
    delivery = page["data"][0]
    assert delivery["id"].startswith("whd_")
    assert delivery["event_id"].startswith("evt_")
    assert {k: delivery[k] for k in ("object", "webhook_id", "url", "status", "attempts",
                                     "last_status_code", "last_error", "delivered_at")} == {
        "object": "webhook.delivery", "webhook_id": webhook_id,
        "url": "https://hooks.example.com/ftm", "status": "pending", "attempts": 0,
        "last_status_code": None, "last_error": None, "delivered_at": None}
    assert delivery["next_attempt_at"] >= delivery["created_at"] > 0
    one = client.get(f"/v1/webhooks/{webhook_id}/deliveries?limit=1", headers=auth).json()
    assert one["has_more"] is True
    assert one["last_id"] == delivery["id"]
    rest = client.get(f"/v1/webhooks/{webhook_id}/deliveries?after={one['last_id']}",
                      headers=auth).json()
    assert [d["event_type"] for d in rest["data"]] == ["job.succeeded"]


def test_job_secret_is_shown_once_per_rotation(client, auth):
    first = client.post("/v1/webhooks/job-secret", headers=auth)
    second = client.post("/v1/webhooks/job-secret", headers=auth)
    assert first.status_code == second.status_code == 200
    assert first.json()["object"] == "webhook.job_secret"
    assert first.json()["secret"].startswith("whsec_")
    assert first.json()["secret"] != second.json()["secret"]


with_openai_secret = pytest.mark.parametrize("settings_overrides",
                                             [{"openai_webhook_secret": OPENAI_SECRET}])


def due_job(redis_client, provider_job_id="ftjob-abc", job_id="job_1"):
    redis_client.set(keys.job_by_provider(provider_job_id), job_id)
    redis_client.zadd(keys.jobs_due(), {job_id: 4_000_000_000})
    return job_id


@with_openai_secret
def test_openai_webhook_with_a_valid_signature_makes_the_job_due(settings_overrides, client,
                                                                  redis_client):
    job_id = due_job(redis_client)
    body = openai_event()
    response = client.post("/v1/providers/openai/webhook", content=body,
                           headers=signed_openai(body))
    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert redis_client.zscore(keys.jobs_due(), job_id) == 0


@with_openai_secret
@pytest.mark.parametrize("tamper", ["secret", "body", "headers", "stale"])
def test_openai_webhook_that_does_not_verify_is_400(settings_overrides, client, redis_client,
                                                    tamper):
    job_id = due_job(redis_client)
    body = openai_event()
    other_secret = "whsec_" + base64.b64encode(b"someone-else-entirely").decode()
    headers = {
        "secret": lambda: signed_openai(body, other_secret),
        "body": lambda: signed_openai(openai_event(job="ftjob-other")),
        "headers": lambda: {"content-type": "application/json"},
        "stale": lambda: signed_openai(body, at=int(time.time()) - 3600),
    }[tamper]()
    response = client.post("/v1/providers/openai/webhook", content=body, headers=headers)
    problem(response, 400, "invalid_webhook_signature")
    assert redis_client.zscore(keys.jobs_due(), job_id) == 4_000_000_000


@with_openai_secret
@pytest.mark.parametrize("body", [openai_event(job="ftjob-unknown"),
                                  openai_event("batch.completed"),
                                  openai_event("fine_tuning.job.some_future_event")])
def test_openai_webhook_about_other_things_is_received(settings_overrides, client, body):
    response = client.post("/v1/providers/openai/webhook", content=body,
                           headers=signed_openai(body))
    assert response.status_code == 200
    assert response.json() == {"received": True}


def test_openai_webhook_without_a_configured_secret_is_404(client):
    body = openai_event()
    response = client.post("/v1/providers/openai/webhook", content=body,
                           headers=signed_openai(body))
    problem(response, 404, "webhook_not_configured")
