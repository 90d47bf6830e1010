"""Evaluations against the emulator through the SDK, with RQ's scheduler run in-process."""

import os
from typing import Any

import httpx
import pytest
from rq import SimpleWorker

from tests.conftest import EMULATOR_KEY
from tests.factories import chat_dataset, drive_jobs, wait_until
from worker.context import use_context

MODEL = "gpt-4o-mini-2024-07-18"
TERMINAL = ("succeeded", "failed", "cancelled")


def pytest_configure(config):
    config.addinivalue_line("markers", "settings(**overrides): change the service's settings")


@pytest.fixture
def settings_overrides(emulator, request):
    """The service pointed at the emulator; retries, polls and leases short; plus the
    test's own `@pytest.mark.settings(...)`."""
    marker = request.node.get_closest_marker("settings")
    return {"openai_base_url": emulator, "openai_api_key": EMULATOR_KEY,
            "openai_retry_base_seconds": 0.01, "sync_interval_running_seconds": 0.05,
            "sync_interval_queued_seconds": 0.05, "evaluation_batch_poll_seconds": 0.1,
            "evaluation_lock_seconds": 2, "openai_requests_per_minute": 60_000,
            "webhook_allowed_targets": ["127.0.0.1/32"],  # test receivers listen locally
            **(marker.kwargs if marker else {})}


def emulator_admin(emulator: str) -> str:
    return emulator.removesuffix("/v1") + "/__emulator"


def stats(emulator: str) -> dict[str, Any]:
    return httpx.get(emulator_admin(emulator) + "/stats").json()


def set_faults(emulator: str, **faults: Any) -> None:
    httpx.post(emulator_admin(emulator) + "/faults", json=faults).raise_for_status()


def work(ctx) -> None:
    """Run queued tasks in this process, first moving due scheduled ones (enqueue_in) to the queue."""
    use_context(ctx)
    SimpleWorker(ctx.queues, connection=ctx.redis).work(burst=True, with_scheduler=True,
                                                         logging_level="WARNING")


def get(client, auth, evaluation_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/evaluations/{evaluation_id}", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def finish(client, ctx, auth, evaluation_id: str, timeout: float = 60) -> dict[str, Any]:
    """Run the evaluation's tasks until it ends; answer it."""
    def ended():
        work(ctx)
        current = get(client, auth, evaluation_id)
        return current if current["status"] in TERMINAL else None

    return wait_until(ended, timeout=timeout, every=0.05)


def create(client, auth, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/evaluations", headers=auth, json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/evaluations/{response.json()['id']}"
    return response.json()


def all_predictions(client, auth, evaluation_id: str, query: str = "") -> list[dict[str, Any]]:
    found, after = [], ""
    while True:
        response = client.get(f"/v1/evaluations/{evaluation_id}/predictions?limit=100{query}"
                              f"{after}", headers=auth)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["data"]
        if not page["has_more"]:
            return found
        after = f"&after={page['last_id']}"


def succeeded_job(client, ctx, auth, train: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/jobs", headers=auth,
                           json={"model": MODEL, "training_dataset": train, **extra})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]

    def done():
        job = client.get(f"/v1/jobs/{job_id}", headers=auth).json()
        return job if job["status"] in TERMINAL else None

    job = drive_jobs(ctx, done)
    assert job["status"] == "succeeded", job
    return job


@pytest.fixture
def tuned(client, ctx, auth, emulator) -> dict[str, Any]:
    """A succeeded job trained on 30 chat examples, and a 30-example dataset to evaluate on."""
    dataset = chat_dataset(client, ctx, auth, 30)
    job = succeeded_job(client, ctx, auth, dataset)
    return {"job": job, "dataset": dataset, "model": job["fine_tuned_model"]}


def worker_env(settings, emulator: str, **extra: str) -> dict[str, str]:
    """The environment of a `python -m worker` subprocess sharing this test's Redis."""
    return {**os.environ, "FTM_REDIS_URL": settings.redis_url,
            "FTM_DATA_DIR": str(settings.data_dir),
            "FTM_ADMIN_KEY": settings.admin_key.get_secret_value(), "OPENAI_BASE_URL": emulator,
            "OPENAI_API_KEY": EMULATOR_KEY, "FTM_LOG_LEVEL": "WARNING",
            "FTM_OPENAI_RETRY_BASE_SECONDS": "0.01", **extra}

