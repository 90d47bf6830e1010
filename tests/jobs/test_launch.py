"""Exactly-once launch: duplicates, crashes at every step of the launch, cancellation races."""

import os
import subprocess
import sys

import httpx
import pytest

from service.jobs import launch
from tests.conftest import EMULATOR_KEY, ROOT
from tests.factories import chat_dataset, drive_jobs, run_tasks

MODEL = "gpt-4o-mini-2024-07-18"


def stats(emulator: str) -> dict:
    return httpx.get(emulator.removesuffix("/v1") + "/__emulator/stats").json()


def create_job(client, auth, train, **extra):
    response = client.post("/v1/jobs", headers=auth,
                           json={"model": MODEL, "training_dataset": train, **extra})
    assert response.status_code == 202, response.text
    return response.json()


def status_of(client, auth, job_id):
    return client.get(f"/v1/jobs/{job_id}", headers=auth).json()


def terminal(client, auth, job_id):
    def check():
        job = status_of(client, auth, job_id)
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None
    return check


@pytest.mark.smoke
def test_launching_twice_creates_one_provider_job_and_one_upload(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    for _ in range(3):
        ctx.enqueue("launch_job", job["id"])
    run_tasks(ctx)
    launch.run(ctx, job["id"])
    final = drive_jobs(ctx, terminal(client, auth, job["id"]))
    assert final["status"] == "succeeded"
    counts = stats(emulator)
    assert counts["jobs"]["total"] == 1
    assert counts["files"]["by_purpose"] == {"fine-tune": 1, "fine-tune-results": 1} or \
        counts["files"]["by_purpose"].get("fine-tune") == 1


def test_a_dataset_is_uploaded_once_across_jobs(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth)
    first = create_job(client, auth, train, suffix="a")
    second = create_job(client, auth, train, suffix="b")
    for job in (first, second):
        assert drive_jobs(ctx, terminal(client, auth, job["id"]))["status"] == "succeeded"
    counts = stats(emulator)
    assert counts["jobs"]["total"] == 2
    assert counts["files"]["by_purpose"]["fine-tune"] == 1


@pytest.mark.parametrize("point", ["launch.before_recording_file", "launch.after_upload",
                                   "launch.after_create"])
def test_worker_killed_during_launch_still_launches_once(client, ctx, auth, emulator, settings,
                                                         point):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    env = {**os.environ, "FTM_REDIS_URL": settings.redis_url, "FTM_DATA_DIR": str(settings.data_dir),
           "FTM_ADMIN_KEY": settings.admin_key.get_secret_value(), "OPENAI_BASE_URL": emulator,
           "OPENAI_API_KEY": EMULATOR_KEY, "FTM_FAULT_POINTS": f'["{point}"]',
           "FTM_LAUNCH_LOCK_SECONDS": "1", "FTM_LOG_LEVEL": "WARNING"}
    worker = subprocess.run([sys.executable, "-m", "worker", "--burst"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert ctx.redis.get(f"ftm:fault:{point}") == b"1"  # the point was reached and died there
    assert status_of(client, auth, job["id"])["status"] not in ("succeeded", "failed")

    ctx.settings.__dict__["launch_lock_seconds"] = 1
    final = drive_jobs(ctx, terminal(client, auth, job["id"]))
    assert final["status"] == "succeeded"
    counts = stats(emulator)
    assert counts["jobs"]["total"] == 1
    assert counts["files"]["by_purpose"]["fine-tune"] == 1


def test_cancel_before_launch_never_creates_a_provider_job(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    response = client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    run_tasks(ctx)
    assert status_of(client, auth, job["id"])["status"] == "cancelled"
    assert stats(emulator)["jobs"]["total"] == 0
    again = client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert again.status_code == 409 and again.json()["code"] == "invalid_job_state"


def test_cancel_of_a_running_job_cancels_at_the_provider(client, ctx, auth, emulator):
    httpx.post(emulator.removesuffix("/v1") + "/__emulator/faults",
               json={"stall_next_jobs": 1}).raise_for_status()
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    drive_jobs(ctx, lambda: status_of(client, auth, job["id"])["status"] == "running")
    assert client.post(f"/v1/jobs/{job['id']}/resume", headers=auth).status_code == 409
    response = client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert response.status_code == 202
    final = drive_jobs(ctx, terminal(client, auth, job["id"]))
    assert final["status"] == "cancelled"
    assert stats(emulator)["jobs"]["by_status"] == {"cancelled": 1}


def test_provider_training_failure_is_copied(client, ctx, auth, emulator):
    httpx.post(emulator.removesuffix("/v1") + "/__emulator/faults",
               json={"fail_next_jobs": {"count": 1, "code": "training_error", "message": "Training diverged."}}).raise_for_status()
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    final = drive_jobs(ctx, terminal(client, auth, job["id"]))
    assert final["status"] == "failed"
    assert final["error"]["message"] and final["error"]["code"]
