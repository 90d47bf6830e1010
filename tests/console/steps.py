"""What the console's browser tests share: signing in, keys, reading numbers, running an
evaluation's tasks off the main thread."""

import re
import threading
from typing import Any

from playwright.sync_api import expect
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from tests.factories import wait_until
from tests.support.api import new_project_key
from tests.support.env import TERMINAL
from worker.context import use_context


def sign_in(page: Any, live_url: str, key: str) -> None:
    page.goto(f"{live_url}/console")
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#key-state")).to_have_text("Key in use for this session.")


def new_key(client: Any, name: str) -> tuple[str, dict[str, str]]:
    _, headers = new_project_key(client, name)
    return headers["Authorization"].removeprefix("Bearer "), headers


def usd(value: float) -> str:
    return f"${value:.4f}"


def number_in(text: str) -> float:
    found = re.search(r"-?\d+(\.\d+)?", text)
    assert found, text
    return float(found.group())


class ThreadWorker(SimpleWorker):
    """A worker off the main thread, where Playwright's event loop runs (evaluations call
    asyncio.run); signals work only on the main thread, so time limits use a timer."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def work(ctx: Any) -> None:
    """Run queued and due scheduled tasks in a worker thread, until none is left."""
    def burst() -> None:
        use_context(ctx)
        ThreadWorker(ctx.queues, connection=ctx.redis).work(
            burst=True, with_scheduler=True, logging_level="WARNING")

    thread = threading.Thread(target=burst)
    thread.start()
    thread.join()


def run_evaluation(client: Any, ctx: Any, headers: dict[str, str], evaluation_id: str) -> Any:
    """Run queued and scheduled tasks until the evaluation ends; answer it."""
    def ended() -> Any:
        work(ctx)
        current = client.get(f"/v1/evaluations/{evaluation_id}", headers=headers).json()
        return current if current["status"] in TERMINAL else None

    return wait_until(ended, timeout=120, every=0.05)
