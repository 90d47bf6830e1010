"""A dataset's validation survives a worker killed under it and an API killed before queuing
it; a project's backlog of datasets awaiting validation is capped."""

import subprocess
import sys

import httpx
import pytest

from devtools.redis_server import free_port
from tests.factories import chat_lines, run_tasks, upload, wait_until
from tests.support.api import new_project_key
from tests.support.env import ROOT
from tests.support.processes import reachable
from tests.support.workers import start_worker, stop_worker, syncing_worker_env


@pytest.fixture
def redis_url(own_redis):
    """A server of its own: the worker processes here see no other test's queued work."""
    return own_redis.url


# Sweeps every few seconds, not every second: on a loaded machine back-to-back sweeps in the
# urgent queue would keep the worker from ever reaching the validation queue.
QUICK_RECOVERY = {"FTM_VALIDATION_OVERDUE_SECONDS": "1", "FTM_VALIDATION_LEASE_SECONDS": "1",
                  "FTM_SYNC_SWEEP_SECONDS": "5"}


def dataset_status(client, auth, dataset_id):
    return client.get(f"/v1/datasets/{dataset_id}", headers=auth).json()["status"]


def test_a_worker_killed_while_validating_leaves_the_dataset_to_the_sweep(
        client, ctx, auth, settings, emulator, tmp_path):
    response = upload(client, auth, chat_lines(20))
    assert response.status_code == 201, response.text
    dataset_id = response.json()["id"]
    env = syncing_worker_env(settings, emulator, FTM_FAULT_POINTS='["validate.before_recording"]',
                     **QUICK_RECOVERY)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: ctx.redis.get("ftm:fault:validate.before_recording"), timeout=60)
        assert dataset_status(client, auth, dataset_id) == "processing"  # killed mid-way
        wait_until(lambda: dataset_status(client, auth, dataset_id) != "processing",
                   timeout=60, every=0.2)
        assert dataset_status(client, auth, dataset_id) == "ready"
        assert worker.poll() is None
    finally:
        stop_worker(worker)


def test_an_api_killed_right_after_recording_leaves_nothing_unrecoverable(
        ctx, settings, emulator, tmp_path):
    env = syncing_worker_env(settings, emulator, FTM_FAULT_POINTS='["datasets.upload.recorded"]',
                     **QUICK_RECOVERY)
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "service.api.app:create_app",
                            "--factory", "--port", str(port), "--log-level", "warning"],
                           cwd=ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: reachable(f"{base}/healthz"), timeout=60, every=0.2)
        with httpx.Client(base_url=base, timeout=30) as http:
            auth = new_project_key(http)[1]
            with pytest.raises(httpx.TransportError):  # the API dies before it answers
                http.post("/v1/datasets", headers=auth,
                          files={"file": ("data.jsonl", chat_lines(20).encode())})
        assert api.wait(30) == -9
    finally:
        if api.poll() is None:
            api.kill()
    [dataset_id] = [raw.decode() for raw in ctx.redis.zrange("ftm:dataset:all", 0, -1)]
    worker = start_worker({**env, "FTM_FAULT_POINTS": "[]"},
                          tmp_path / "worker.log")
    try:
        wait_until(lambda: b'"status":"ready"' in (ctx.redis.get(f"ftm:dataset:{dataset_id}")
                                                    or b""), timeout=60, every=0.2)
    finally:
        stop_worker(worker)


@pytest.fixture
def settings_overrides():
    return {"max_datasets_awaiting_validation": 2, "validation_overdue_seconds": 1,
            "validation_lease_seconds": 1}


def test_a_full_validation_backlog_answers_429_until_it_drains(client, ctx, auth):
    for _ in range(2):
        assert upload(client, auth, chat_lines(3)).status_code == 201
    refused = upload(client, auth, chat_lines(3))
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "validation_backlog"
    assert int(refused.headers["Retry-After"]) > 0
    other = new_project_key(client, "other")[1]  # the cap is per project
    assert upload(client, other, chat_lines(3)).status_code == 201
    run_tasks(ctx)
    assert upload(client, auth, chat_lines(3)).status_code == 201
