"""Exactly-once launch: duplicates, crashes at every step of the launch, cancellation races."""


import pytest

from service.jobs import launch
from tests.factories import chat_dataset, drive_jobs, run_tasks
from tests.support.api import create_job, problem, status_of, wait_terminal
from tests.support.emulator import admin, stats
from tests.support.env import worker_env
from tests.support.workers import die_at


@pytest.mark.smoke
def test_launching_twice_creates_one_provider_job_and_one_upload(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    for _ in range(3):
        ctx.enqueue("launch_job", job["id"])
    run_tasks(ctx)
    launch.run(ctx, job["id"])
    final = wait_terminal(client, ctx, auth, job["id"])
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
        assert wait_terminal(client, ctx, auth, job["id"])["status"] == "succeeded"
    counts = stats(emulator)
    assert counts["jobs"]["total"] == 2
    assert counts["files"]["by_purpose"]["fine-tune"] == 1


@pytest.mark.parametrize("point", ["launch.before_recording_file", "launch.after_upload",
                                   "launch.after_create"])
def test_worker_killed_during_launch_still_launches_once(client, ctx, auth, emulator, settings,
                                                         point):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    die_at(ctx, worker_env(settings, emulator, FTM_LAUNCH_LOCK_SECONDS="1"), point)
    assert status_of(client, auth, job["id"])["status"] not in ("succeeded", "failed")

    ctx.settings.__dict__["launch_lock_seconds"] = 1
    final = wait_terminal(client, ctx, auth, job["id"])
    assert final["status"] == "succeeded"
    counts = stats(emulator)
    assert counts["jobs"]["total"] == 1
    assert counts["files"]["by_purpose"]["fine-tune"] == 1


def test_cancel_before_launch_never_creates_a_provider_job(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    response = client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    run_tasks(ctx)
    assert status_of(client, auth, job["id"])["status"] == "cancelled"
    assert stats(emulator)["jobs"]["total"] == 0
    again = client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    problem(again, 409, "invalid_job_state")


def test_cancel_of_a_running_job_cancels_at_the_provider(client, ctx, auth, emulator):
    admin(emulator, "faults", {"stall_next_jobs": 1})
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    drive_jobs(ctx, lambda: status_of(client, auth, job["id"])["status"] == "running")
    assert client.post(f"/v1/jobs/{job['id']}/resume", headers=auth).status_code == 409
    response = client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert response.status_code == 202
    final = wait_terminal(client, ctx, auth, job["id"])
    assert final["status"] == "cancelled"
    assert stats(emulator)["jobs"]["by_status"] == {"cancelled": 1}


def test_provider_training_failure_is_copied(client, ctx, auth, emulator):
    admin(emulator, "faults", {"fail_next_jobs": {"count": 1, "code": "training_error",
                                                  "message": "Training diverged."}})
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    final = wait_terminal(client, ctx, auth, job["id"])
    assert final["status"] == "failed"
    assert final["error"]["message"]
    assert final["error"]["code"]
