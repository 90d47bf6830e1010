"""Webhook deliveries are counted by outcome, and their tasks by task and outcome."""

from prometheus_client import REGISTRY

from service.webhooks.service import notify
from tests.worker.test_webhook_delivery import (  # noqa: F401 - fixtures
    JOB,
    new_webhook,
    project,
    receiver,
    run_tasks,
    settings_overrides,
)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_retries_then_delivery_are_counted(client, ctx, project, receiver):  # noqa: F811
    project_id, auth = project
    receiver.fail_first = 2
    new_webhook(client, auth, receiver.url())
    outcomes = ("retrying", "delivered", "failed")
    before = {o: value("ftm_webhook_deliveries_total", outcome=o) for o in outcomes}
    tasks = value("ftm_worker_tasks_total", task="deliver_webhook", outcome="ok")
    notify(ctx, project_id, "job.succeeded", JOB)
    run_tasks(ctx)
    gained = {o: value("ftm_webhook_deliveries_total", outcome=o) - before[o] for o in outcomes}
    assert gained == {"retrying": 2, "delivered": 1, "failed": 0}
    assert value("ftm_worker_tasks_total", task="deliver_webhook", outcome="ok") == tasks + 3
