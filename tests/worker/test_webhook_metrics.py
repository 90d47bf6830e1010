"""Webhook deliveries are counted by outcome, and their tasks by task and outcome."""

import pytest
from prometheus_client import REGISTRY

from service.webhooks.service import notify
from tests.support.api import new_project_key
from tests.support.env import LOCAL_RECEIVERS
from tests.support.webhooks import JOB, new_webhook, run_until_idle


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"webhook_retry_base_seconds": 0.05, "webhook_max_attempts": 3, **LOCAL_RECEIVERS}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_retries_then_delivery_are_counted(client, ctx, receiver):
    project_id, auth = new_project_key(client, "hooks")
    receiver.fail_first = 2
    new_webhook(client, auth, receiver.url())
    outcomes = ("retrying", "delivered", "failed")
    before = {o: value("ftm_webhook_deliveries_total", outcome=o) for o in outcomes}
    tasks = value("ftm_worker_tasks_total", task="deliver_webhook", outcome="ok")
    notify(ctx, project_id, "job.succeeded", JOB)
    run_until_idle(ctx)
    gained = {o: value("ftm_webhook_deliveries_total", outcome=o) - before[o] for o in outcomes}
    assert gained == {"retrying": 2, "delivered": 1, "failed": 0}
    assert value("ftm_worker_tasks_total", task="deliver_webhook", outcome="ok") == tasks + 3
