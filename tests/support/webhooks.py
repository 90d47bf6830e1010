"""Webhooks as tests see them: a local receiver on a free port, and the service's webhook routes."""

import queue
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.context import Context

JOB = {"job": {"id": "job_1", "object": "job", "status": "succeeded"}}


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: str
    arrived: float  # time.monotonic()
    status: int = 0  # what the receiver answered


class Receiver:
    """Records every POST. Answers `fail_status` to the first `fail_first` requests, then
    `status`; a redirect (307) to `redirect_to` if set; waits for `hold` (if set) first."""

    def __init__(self, status: int = 204) -> None:
        self.requests: list[Received] = []
        self.status, self.fail_first, self.fail_status = status, 0, 500
        self.redirect_to: str | None = None
        self.hold: threading.Event | None = None
        self.succeeded: queue.Queue[Received] = queue.Queue()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True  # a held request must not block closing
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, request: Received) -> int:
        if len(self.requests) <= self.fail_first:
            return self.fail_status
        return 307 if self.redirect_to else self.status

    def next(self, timeout: float = 15) -> Received:
        """The next request answered with a success, waiting for it."""
        return self.succeeded.get(timeout=timeout)

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                request = Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                   body, time.monotonic())
                receiver.requests.append(request)
                if receiver.hold is not None:
                    receiver.hold.wait(60)
                request.status = receiver.answer(request)
                self.send_response(request.status)
                if request.status == 307:
                    self.send_header("Location", str(receiver.redirect_to))
                self.end_headers()
                if request.status < 300:
                    receiver.succeeded.put(request)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def new_webhook(client: Any, auth: dict[str, str], url: str,
                events: tuple[str, ...] | list[str] = ("job.succeeded",)) -> dict[str, Any]:
    response = client.post("/v1/webhooks", json={"url": url, "events": list(events)},
                           headers=auth)
    assert response.status_code == 201, response.text
    return dict(response.json())


def deliveries(client: Any, auth: dict[str, str], webhook_id: str) -> list[dict[str, Any]]:
    return list(client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=auth).json()["data"])


def run_until_idle(ctx: "Context", timeout: float = 15, with_scheduler: bool = True) -> None:
    """Run queued work in-process; with the scheduler, also each delayed retry once it is due,
    until none is left."""
    from rq import SimpleWorker

    from worker.context import use_context

    use_context(ctx)
    deadline = time.monotonic() + timeout
    while True:
        SimpleWorker(ctx.queues, connection=ctx.redis).work(
            burst=True, with_scheduler=with_scheduler, logging_level="WARNING")
        if not with_scheduler or ctx.queue.scheduled_job_registry.count == 0:
            return
        assert time.monotonic() < deadline, "scheduled work still waiting"
        time.sleep(0.05)
