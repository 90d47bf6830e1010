"""Webhook receivers that hang past the timeout or answer 500, beside a healthy one, all served
by one worker: the bad ones are retried with backoff and then marked failed; the healthy one
gets every event on its first attempt, and the hanging one does not cost a timeout per event."""

import threading
from collections.abc import Iterator

import pytest

from service.webhooks.service import notify
from tests.support.api import new_project_key
from tests.support.webhooks import Receiver, deliveries, new_webhook, run_until_idle

EVENTS = 3
ATTEMPTS = 2


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    """Three receivers, each on its own port (a receiver rests by host and port): "hang" never
    answers in time, "error" answers 500, "ok" answers 204."""
    made = {"hang": Receiver(), "error": Receiver(status=500), "ok": Receiver()}
    made["hang"].hold = threading.Event()
    yield made
    for receiver in made.values():
        receiver.close()


def arrivals(receivers: dict[str, Receiver]) -> list[str]:
    """Each request's receiver, in the order they came in."""
    timed = [(request.arrived, name) for name, receiver in receivers.items()
             for request in receiver.requests]
    return [name for _, name in sorted(timed)]


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"webhook_timeout_seconds": 0.3, "webhook_retry_base_seconds": 2,
            "webhook_max_attempts": ATTEMPTS, "webhook_allowed_targets": ["127.0.0.1/32"]}


def test_hanging_and_failing_receivers_never_hold_up_a_healthy_one(client, ctx, receivers):
    project_id, auth = new_project_key(client, "hooks")
    hooks = {path: new_webhook(client, auth, receiver.url())["id"]
             for path, receiver in receivers.items()}
    for n in range(EVENTS):
        notify(ctx, project_id, "job.succeeded", {"job": {"id": f"job_{n}", "object": "job"}})
    run_until_idle(ctx, timeout=120)

    order = arrivals(receivers)
    ok_done = [i for i, path in enumerate(order) if path == "ok"][-1]
    assert len(receivers["ok"].requests) == EVENTS
    assert order[:ok_done].count("hang") == 1, order
    assert len(receivers["hang"].requests) == EVENTS * ATTEMPTS
    assert len(receivers["error"].requests) == EVENTS * ATTEMPTS

    found = {path: deliveries(client, auth, hook) for path, hook in hooks.items()}
    assert [(d["status"], d["attempts"]) for d in found["ok"]] == [("succeeded", 1)] * EVENTS
    for path, error in (("hang", "timeout"), ("error", "HTTP 500")):
        for delivery in found[path]:
            assert (delivery["status"], delivery["attempts"]) == ("failed", ATTEMPTS), path
            assert [a["error"] for a in delivery["history"]] == [error] * ATTEMPTS
            first, second = (a["at"] for a in delivery["history"])
            assert second - first >= 1  # the backoff: 2 s, floored to whole seconds
