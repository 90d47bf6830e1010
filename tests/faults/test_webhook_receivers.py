"""Webhook receivers that hang past the timeout or answer 500, beside a healthy one, all served
by one worker: the bad ones are retried with backoff and then marked failed; the healthy one
gets every event on its first attempt, and the hanging one does not cost a timeout per event."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.webhooks.service import notify
from tests.conftest import new_project_key
from tests.worker.test_webhook_delivery import deliveries, new_webhook, run_tasks

EVENTS = 3
ATTEMPTS = 2


class Receivers:
    """Three receivers, each on its own port (a receiver rests by host and port): "hang" never
    answers in time, "error" answers 500, "ok" answers 204. `arrivals` names each request's
    receiver, in the order they came in."""

    def __init__(self) -> None:
        self.arrivals: list[str] = []
        self.lock, self.release = threading.Lock(), threading.Event()
        self.ports: dict[str, int] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}/hook"

    def count(self, name: str) -> int:
        return self.arrivals.count(name)


def serve(state: Receivers, name: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            with state.lock:
                state.arrivals.append(name)
            if name == "hang":
                state.release.wait(60)
            self.send_response(500 if name == "error" else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.ports[name] = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    state = Receivers()
    servers = [serve(state, name) for name in ("hang", "error", "ok")]
    yield state
    state.release.set()
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"webhook_timeout_seconds": 0.3, "webhook_retry_base_seconds": 2,
            "webhook_max_attempts": ATTEMPTS, "webhook_allowed_targets": ["127.0.0.1/32"]}


def test_hanging_and_failing_receivers_never_hold_up_a_healthy_one(client, ctx, receivers):
    project_id, auth = new_project_key(client, "hooks")
    hooks = {path: new_webhook(client, auth, receivers.url(path))["id"]
             for path in ("hang", "error", "ok")}
    for n in range(EVENTS):
        notify(ctx, project_id, "job.succeeded", {"job": {"id": f"job_{n}", "object": "job"}})
    run_tasks(ctx, timeout=120)

    ok_done = [i for i, path in enumerate(receivers.arrivals) if path == "ok"][-1]
    assert receivers.count("ok") == EVENTS
    assert receivers.arrivals[:ok_done].count("hang") == 1, receivers.arrivals
    assert receivers.count("hang") == receivers.count("error") == EVENTS * ATTEMPTS

    found = {path: deliveries(client, auth, hook) for path, hook in hooks.items()}
    assert [(d["status"], d["attempts"]) for d in found["ok"]] == [("succeeded", 1)] * EVENTS
    for path, error in (("hang", "timeout"), ("error", "HTTP 500")):
        for delivery in found[path]:
            assert (delivery["status"], delivery["attempts"]) == ("failed", ATTEMPTS), path
            assert [a["error"] for a in delivery["history"]] == [error] * ATTEMPTS
            first, second = (a["at"] for a in delivery["history"])
            assert second - first >= 1  # the backoff: 2 s, floored to whole seconds
