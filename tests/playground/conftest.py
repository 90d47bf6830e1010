"""The service on a live uvicorn, pointed at the emulator; clients are the real openai SDK."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from devtools.redis_server import free_port
from tests.conftest import EMULATOR_KEY, new_project_key
from tests.factories import chat_lines, drive_jobs, ready_dataset, wait_until

BASE = "gpt-4o-mini-2024-07-18"
# Several words each, so a streamed answer comes in several chunks.
ANSWERS = ("The sentiment is clearly positive", "The sentiment is clearly negative",
           "Neither good nor bad, so neutral")


@dataclass(frozen=True)
class Caller:
    project_id: str
    key: str
    http: httpx.Client  # the live service, authenticated with key


@pytest.fixture
def settings_overrides(emulator):
    return {"openai_base_url": emulator, "openai_api_key": EMULATOR_KEY,
            "openai_retry_base_seconds": 0.01, "sync_interval_running_seconds": 0.05,
            "sync_interval_queued_seconds": 0.05}


def is_healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def live(settings) -> Iterator[str]:
    """The service's root URL, served by uvicorn in a thread."""
    from service.api.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: is_healthy(url), timeout=15)
    yield url
    server.should_exit = True
    thread.join(10)


def new_caller(live: str, name: str) -> Caller:
    with httpx.Client(base_url=live) as admin:
        project_id, headers = new_project_key(admin, name)  # type: ignore[arg-type]
    key = headers["Authorization"].removeprefix("Bearer ")
    return Caller(project_id, key, httpx.Client(base_url=live, headers=headers, timeout=30))


@pytest.fixture
def caller(live) -> Iterator[Caller]:
    made = new_caller(live, "playground")
    yield made
    made.http.close()


def fine_tune(ctx, caller: Caller, suffix: str = "play") -> str:
    """Run a job to success through the API with in-process workers; answer its model."""
    dataset = ready_dataset(caller.http, ctx, {}, chat_lines(30, ANSWERS))  # type: ignore[arg-type]
    assert dataset["status"] == "ready", dataset
    training = dataset["id"]
    response = caller.http.post("/v1/jobs", json={"model": BASE, "training_dataset": training,
                                                  "suffix": suffix})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]

    def finished():
        job = caller.http.get(f"/v1/jobs/{job_id}").json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    job = drive_jobs(ctx, finished)
    assert job["status"] == "succeeded", job
    return str(job["fine_tuned_model"])


@pytest.fixture
def fine_tuned(ctx, caller) -> str:
    return fine_tune(ctx, caller)
