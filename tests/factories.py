"""Build what a test needs through the real domain and HTTP API; state only what matters."""

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rq import SimpleWorker

from service.context import Context
from worker.context import use_context


def run_tasks(ctx: Context) -> None:
    """Run every queued task in this process, as a worker would."""
    use_context(ctx)
    SimpleWorker(ctx.queues, connection=ctx.redis).work(burst=True, logging_level="WARNING")


def upload(client: TestClient, auth: dict[str, str], content: bytes | str, *,
           filename: str = "data.jsonl", **fields: str) -> Any:
    data = content.encode() if isinstance(content, str) else content
    return client.post("/v1/datasets", headers=auth, data=fields,
                       files={"file": (filename, io.BytesIO(data))})


def ready_dataset(client: TestClient, ctx: Context, auth: dict[str, str],
                  content: bytes | str | Path, **fields: str) -> dict[str, Any]:
    """Upload and validate a dataset; answer it (ready or invalid)."""
    if isinstance(content, Path):
        fields.setdefault("filename", content.name)
        content = content.read_bytes()
    response = upload(client, auth, content, **fields)
    assert response.status_code == 201, response.text
    run_tasks(ctx)
    return client.get(f"/v1/datasets/{response.json()['id']}", headers=auth).json()


def chat_lines(n: int, labels: tuple[str, ...] = ("Positive", "Negative", "Neutral")) -> str:
    lines = []
    for i in range(n):
        label = labels[i % len(labels)]
        lines.append('{"messages": [{"role": "system", "content": "Classify."}, '
                     f'{{"role": "user", "content": "Example number {i} is {label.lower()}"}}, '
                     f'{{"role": "assistant", "content": "{label}"}}]}}')
    return "\n".join(lines) + "\n"


def wait_until(check: Callable[[], Any], timeout: float = 30, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(every)


def drive_jobs(ctx: Context, done: Callable[[], Any], timeout: float = 60) -> Any:
    """Run sweeps and tasks in this process until done() answers something truthy."""
    from service.jobs import sync

    def step() -> Any:
        sync.sweep(ctx)
        run_tasks(ctx)
        return done()

    return wait_until(step, timeout=timeout, every=0.02)


def chat_dataset(client: TestClient, ctx: Context, auth: dict[str, str], n: int = 30) -> str:
    dataset = ready_dataset(client, ctx, auth, chat_lines(n))
    assert dataset["status"] == "ready", dataset
    return str(dataset["id"])
