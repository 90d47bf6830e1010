"""Outbound webhooks end to end: real Redis, real RQ (in-process, with its scheduler for the
delayed retries) and a real HTTP receiver on a free port."""

import time

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from devtools.redis_server import free_port
from service.webhooks import deliver
from service.webhooks.models import Delivery
from service.webhooks.service import notify
from tests.support.api import new_project_key
from tests.support.env import LOCAL_RECEIVERS
from tests.support.webhooks import JOB, deliveries, new_webhook, run_until_idle


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"webhook_retry_base_seconds": 0.05, "webhook_max_attempts": 3, **LOCAL_RECEIVERS}


@pytest.fixture
def project(client) -> tuple[str, dict[str, str]]:
    return new_project_key(client, "hooks")


def test_delivery_is_signed_the_standard_webhooks_way(client, ctx, project, receiver):
    project_id, auth = project
    webhook = new_webhook(client, auth, receiver.url())
    notify(ctx, project_id, "job.succeeded", JOB)
    run_until_idle(ctx)
    [request] = receiver.requests
    payload = Verifier(webhook["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "job.succeeded"
    assert payload["data"] == JOB
    assert payload["id"].startswith("evt_")
    assert request.headers["webhook-id"] == payload["id"]
    assert abs(payload["created_at"] - time.time()) < 60
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    [delivery] = deliveries(client, auth, webhook["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 204
    assert delivery["delivered_at"] is not None
    assert delivery["event_id"] == payload["id"]
    assert delivery["next_attempt_at"] is None
    with pytest.raises(WebhookVerificationError):
        Verifier(new_webhook(client, auth, receiver.url())["secret"]).verify(
            request.body, request.headers)


def test_only_subscribed_endpoints_get_an_event(client, ctx, project, receiver):
    project_id, auth = project
    new_webhook(client, auth, receiver.url("/succeeded"), ["job.succeeded"])
    new_webhook(client, auth, receiver.url("/failed"), ["job.failed", "job.cancelled"])
    new_webhook(client, auth, receiver.url("/both"), ["job.failed", "job.succeeded"])
    _, other = new_project_key(client, "other")
    new_webhook(client, other, receiver.url("/other-project"), ["job.succeeded"])
    notify(ctx, project_id, "job.succeeded", JOB)
    run_until_idle(ctx)
    assert sorted(r.path for r in receiver.requests) == ["/both", "/succeeded"]


def test_failed_attempts_are_retried_with_the_same_webhook_id(client, ctx, project, receiver):
    project_id, auth = project
    receiver.fail_first = 2
    webhook = new_webhook(client, auth, receiver.url())
    notify(ctx, project_id, "job.succeeded", JOB)
    run_until_idle(ctx)
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        Verifier(webhook["secret"]).verify(request.body, request.headers)
    [delivery] = deliveries(client, auth, webhook["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["history"]] == [500, 500, 204]
    assert delivery["last_status_code"] == 204
    assert delivery["last_error"] is None


def test_delivery_gives_up_as_failed_after_the_last_attempt(client, ctx, project, receiver):
    project_id, auth = project
    receiver.fail_first, receiver.fail_status = 100, 503
    webhook = new_webhook(client, auth, receiver.url())
    notify(ctx, project_id, "job.succeeded", JOB)
    run_until_idle(ctx)
    assert len(receiver.requests) == 3
    [delivery] = deliveries(client, auth, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 3
    assert delivery["last_status_code"] == 503
    assert delivery["last_error"] == "HTTP 503"
    assert delivery["next_attempt_at"] is None
    assert delivery["delivered_at"] is None


def test_unreachable_receiver_is_recorded_and_given_up(client, ctx, project):
    project_id, auth = project
    webhook = new_webhook(client, auth, f"http://127.0.0.1:{free_port()}/hook")
    notify(ctx, project_id, "job.succeeded", JOB)
    run_until_idle(ctx)
    [delivery] = deliveries(client, auth, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 3
    assert delivery["last_status_code"] is None
    assert delivery["last_error"] == "connection failed"


@pytest.mark.parametrize("settings_overrides", [{"webhook_retry_base_seconds": 30,
                                                 "webhook_max_attempts": 3, **LOCAL_RECEIVERS}])
def test_a_failed_attempt_schedules_the_next_after_the_backoff(
        client, ctx, project, receiver, settings_overrides):
    project_id, auth = project
    receiver.fail_first = 1
    webhook = new_webhook(client, auth, receiver.url())
    notify(ctx, project_id, "job.succeeded", JOB)
    run_until_idle(ctx, with_scheduler=False)
    [delivery] = deliveries(client, auth, webhook["id"])
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 1
    first_at = delivery["history"][0]["at"]
    assert first_at + 29 <= delivery["next_attempt_at"] <= first_at + 31
    scheduled = ctx.queue.scheduled_job_registry
    [job_id] = scheduled.get_job_ids()
    job = ctx.queue.fetch_job(job_id)
    assert job.func_name == "worker.tasks.deliver_webhook"
    assert list(job.args) == [delivery["id"]]
    assert abs(scheduled.get_scheduled_time(job).timestamp() - delivery["next_attempt_at"]) <= 1
    ctx.enqueue("deliver_webhook", delivery["id"])  # an early duplicate does nothing
    run_until_idle(ctx, with_scheduler=False)
    assert len(receiver.requests) == 1


def test_retry_delays_grow_exponentially_up_to_a_cap(settings):
    defaults = settings.model_copy(update={"webhook_retry_base_seconds": 5})
    delays = [deliver.retry_delay(defaults, attempt) for attempt in range(1, 9)]
    assert delays == [5, 25, 125, 625, 3125, 15625, 21600, 21600]


def test_a_jobs_own_url_gets_the_event_signed_with_the_job_secret(client, ctx, project,
                                                                   receiver):
    project_id, auth = project
    secret = client.post("/v1/webhooks/job-secret", headers=auth).json()["secret"]
    endpoint = new_webhook(client, auth, receiver.url("/endpoint"))
    notify(ctx, project_id, "job.status_changed", JOB, extra_url=receiver.url("/job"))
    notify(ctx, project_id, "job.succeeded", JOB, extra_url=receiver.url("/endpoint"))
    run_until_idle(ctx)
    by_path = {r.path: r for r in receiver.requests}
    assert sorted(by_path) == ["/endpoint", "/job"]
    assert len(receiver.requests) == 2
    payload = Verifier(secret).verify(by_path["/job"].body, by_path["/job"].headers)
    assert payload["type"] == "job.status_changed"
    Verifier(endpoint["secret"]).verify(by_path["/endpoint"].body, by_path["/endpoint"].headers)


def test_deliveries_of_a_deleted_webhook_fail_unsent(client, ctx, project, receiver):
    project_id, auth = project
    webhook = new_webhook(client, auth, receiver.url())
    notify(ctx, project_id, "job.succeeded", JOB)
    [pending] = deliveries(client, auth, webhook["id"])
    client.delete(f"/v1/webhooks/{webhook['id']}", headers=auth)
    run_until_idle(ctx)
    assert receiver.requests == []
    delivery = ctx.store.get(Delivery, pending["id"])
    assert delivery.status == "failed"
    assert "deleted" in delivery.last_error


def test_a_lost_delivery_task_is_queued_again_by_the_overdue_sweep(client, ctx, project,
                                                                   receiver):
    project_id, auth = project
    webhook = new_webhook(client, auth, receiver.url())
    notify(ctx, project_id, "job.succeeded", JOB)
    ctx.queue.empty()  # the task is lost with its worker
    run_until_idle(ctx)
    assert receiver.requests == []
    assert deliver.requeue_overdue(ctx, grace_seconds=0) == 1
    run_until_idle(ctx)
    assert len(receiver.requests) == 1
    assert deliveries(client, auth, webhook["id"])[0]["status"] == "succeeded"
    assert deliver.requeue_overdue(ctx, grace_seconds=0) == 0
