"""Cancel, pause and resume with OpenAI's state rules; the lazy clock stops while paused."""

import time

import httpx
import openai
import pytest
from openai import OpenAI

from tests.support.emulator_sdk import create_job, wait_for_status

LONG = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 9}}}


def slow_job(client: OpenAI, admin: httpx.Client) -> str:
    """A job that stays in validating_files for minutes (created at speed 0.01)."""
    admin.post("/config", json={"speed": 0.01}).raise_for_status()
    job = create_job(client)
    admin.post("/config", json={"speed": 50}).raise_for_status()
    return job.id


def test_cancel_a_validating_job(client: OpenAI, admin: httpx.Client) -> None:
    job_id = slow_job(client, admin)
    cancelled = client.fine_tuning.jobs.cancel(job_id)
    assert cancelled.status == "cancelled"
    assert cancelled.finished_at is not None
    assert client.fine_tuning.jobs.retrieve(job_id).status == "cancelled"
    events = client.fine_tuning.jobs.list_events(job_id).data
    assert events[0].message == "The job has been cancelled"
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.cancel(job_id)


def test_pause_and_resume_need_the_right_state(client: OpenAI, admin: httpx.Client) -> None:
    job_id = slow_job(client, admin)
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.pause(job_id)
    assert "running" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.resume(job_id)
    assert "paused" in caught.value.message


def test_paused_job_stops_and_resumes_to_success(client: OpenAI) -> None:
    job = create_job(client, method=LONG)
    assert wait_for_status(client, job.id, "running", "succeeded").status == "running"
    paused = client.fine_tuning.jobs.pause(job.id)
    assert paused.status == "paused"
    frozen = [e.id for e in client.fine_tuning.jobs.list_events(job.id, limit=100).data]
    assert frozen[0] == client.fine_tuning.jobs.list_events(job.id, limit=1).data[0].id
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.pause(job.id)
    time.sleep(0.2)  # ten steps' worth at speed 50
    assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"
    assert [e.id for e in client.fine_tuning.jobs.list_events(job.id, limit=100).data] == frozen
    assert client.fine_tuning.jobs.list_events(job.id, limit=1).data[0].message == \
        "Fine-tuning job paused"
    resumed = client.fine_tuning.jobs.resume(job.id)
    assert resumed.status == "running"
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.resume(job.id)
    done = wait_for_status(client, job.id)
    assert done.status == "succeeded"
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=200).data]
    assert messages.index("Fine-tuning job resumed") < messages.index("Fine-tuning job paused")
    assert len([m for m in messages if m.startswith("Step ")]) == 99


def test_cancel_a_running_job_keeps_what_happened(client: OpenAI) -> None:
    job = create_job(client, method=LONG)
    wait_for_status(client, job.id, "running")
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert cancelled.fine_tuned_model is None
    events = client.fine_tuning.jobs.list_events(job.id, limit=200).data
    assert events[0].message == "The job has been cancelled"
    assert "Fine-tuning job started" in [e.message for e in events]
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.resume(job.id)


def test_finished_job_cannot_be_cancelled_paused_or_resumed(client: OpenAI) -> None:
    job = wait_for_status(client, create_job(client).id)
    assert job.status == "succeeded"
    for call in (client.fine_tuning.jobs.cancel, client.fine_tuning.jobs.pause,
                 client.fine_tuning.jobs.resume):
        with pytest.raises(openai.BadRequestError):
            call(job.id)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"
