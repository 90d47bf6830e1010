"""The provider loses its state (an emulator restarted): a job it no longer knows fails with a
clear code after a grace period, and a dataset file it no longer has is uploaded again."""

import pytest

from tests.factories import chat_dataset, drive_jobs
from tests.support.api import create_job, status_of, wait_terminal
from tests.support.emulator import admin, reset, stats


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "provider_missing_grace_seconds": 1}


def forget_everything(emulator: str) -> None:
    reset(emulator)


def test_a_job_the_provider_lost_fails_with_provider_job_not_found(client, ctx, auth, emulator):
    admin(emulator, "faults", {"stall_next_jobs": 1})
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    drive_jobs(ctx, lambda: status_of(client, auth, job["id"])["status"] == "running")
    forget_everything(emulator)
    final = wait_terminal(client, ctx, auth, job["id"], timeout=90)
    assert final["status"] == "failed"
    assert final["error"]["code"] == "provider_job_not_found"


def test_a_file_the_provider_lost_is_uploaded_again(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth)
    first = create_job(client, auth, train, suffix="a")
    assert wait_terminal(client, ctx, auth, first["id"])["status"] == "succeeded"
    forget_everything(emulator)
    second = create_job(client, auth, train, suffix="b")
    assert wait_terminal(client, ctx, auth, second["id"])["status"] == "succeeded"
    assert stats(emulator)["files"]["by_purpose"]["fine-tune"] == 1
