"""Fault injection and inspection under /__emulator/: they apply to /v1 only."""

import httpx
import openai
import pytest
from openai import OpenAI

from tests.support.emulator_sdk import create_job, upload, wait_for_status
from tests.support.env import EMULATOR_KEY


def test_rate_limit_fraction_answers_429_with_retry_after(client: OpenAI,
                                                          admin: httpx.Client) -> None:
    admin.post("/faults", json={"rate_limit_fraction": 1.0, "retry_after_ms": 1500})
    with pytest.raises(openai.RateLimitError) as caught:
        client.models.list()
    error = caught.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert error.body["type"] == "requests"  # type: ignore[index]
    assert error.response.headers["retry-after"] == "2"
    assert error.response.headers["retry-after-ms"] == "1500"
    assert admin.get("/stats").status_code == 200  # admin routes are never faulted
    admin.post("/faults", json={"rate_limit_fraction": 0.0})
    assert client.models.list().data


def test_partial_rate_limit_is_seeded_and_roughly_that_share(client: OpenAI,
                                                             admin: httpx.Client) -> None:
    admin.post("/faults", json={"rate_limit_fraction": 0.5, "seed": 3})
    outcomes = []
    for _ in range(60):
        try:
            client.models.retrieve("gpt-4o")
            outcomes.append(200)
        except openai.RateLimitError:
            outcomes.append(429)
    assert 15 <= outcomes.count(429) <= 45
    log = admin.get("/requests", params={"path": "/v1/models"}).json()["data"]
    assert [e["status"] for e in log] == outcomes
    assert {e["fault"] for e in log if e["status"] == 429} == {"rate_limit"}


def test_fail_next_hits_only_matching_requests(client: OpenAI, admin: httpx.Client) -> None:
    training = upload(client)
    admin.post("/faults", json={"fail_next": {"count": 2, "status": 503, "method": "POST",
                                              "path": "/v1/fine_tuning/jobs"}})
    assert client.models.list().data  # a GET elsewhere is not affected
    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as caught:
            create_job(client, training)
        assert caught.value.status_code == 503
        assert "retry-after" in caught.value.response.headers
    assert create_job(client, training).status == "validating_files"
    assert admin.get("/stats").json()["jobs"]["total"] == 1
    assert admin.get("/faults").json()["fail_next"]["count"] == 0


def test_error_fraction_answers_500_in_openai_shape(client: OpenAI, admin: httpx.Client) -> None:
    admin.post("/faults", json={"error_fraction": 1.0, "error_status": 500})
    with pytest.raises(openai.InternalServerError) as caught:
        client.files.list()
    assert caught.value.status_code == 500
    assert caught.value.body["type"] == "server_error"  # type: ignore[index]


def test_sdk_retries_honour_retry_after(emulator: str, admin: httpx.Client) -> None:
    admin.post("/faults", json={"fail_next": {"count": 2, "status": 429},
                                "retry_after_ms": 10})
    with OpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=2) as retrying:
        assert retrying.models.retrieve("gpt-4o").id == "gpt-4o"
    statuses = [e["status"] for e in admin.get("/requests").json()["data"]]
    assert statuses == [429, 429, 200]


def test_latency_delays_v1_requests(emulator: str, admin: httpx.Client) -> None:
    admin.post("/faults", json={"latency_ms": 400})
    with OpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=0,
                timeout=0.1) as impatient, pytest.raises(openai.APITimeoutError):
        impatient.models.list()
    assert admin.get("/faults", timeout=0.3).json()["latency_ms"] == 400


def test_next_jobs_fail_during_training(client: OpenAI, admin: httpx.Client) -> None:
    admin.post("/faults", json={"fail_next_jobs": {"count": 1, "code": "server_error",
                                                   "message": "The job failed due to an "
                                                              "internal error."}})
    training = upload(client)
    failing, fine = create_job(client, training), create_job(client, training)
    failed = wait_for_status(client, failing.id)
    assert failed.status == "failed"
    assert failed.error
    assert (failed.error.code, failed.error.param) == ("server_error", None)
    events = client.fine_tuning.jobs.list_events(failed.id, limit=100).data
    assert "Fine-tuning job started" in [e.message for e in events]
    assert any(e.type == "metrics" for e in events)
    assert events[0].level == "error"
    assert wait_for_status(client, fine.id).status == "succeeded"


def test_stalled_job_stays_running_until_released(client: OpenAI, admin: httpx.Client) -> None:
    admin.post("/faults", json={"stall_next_jobs": 1})
    training = upload(client)
    stalled, normal = create_job(client, training), create_job(client, training)
    assert wait_for_status(client, normal.id).status == "succeeded"
    assert client.fine_tuning.jobs.retrieve(stalled.id).status == "running"
    frozen = client.fine_tuning.jobs.list_events(stalled.id, limit=100).data
    assert frozen[0].message.startswith("Step 1/11")
    released = admin.post(f"/jobs/{stalled.id}/stall", json={"stalled": False}).json()
    assert released == {"id": stalled.id, "stalled": False, "status": "running"}
    assert wait_for_status(client, stalled.id).status == "succeeded"


def test_a_given_job_can_be_stalled(client: OpenAI, admin: httpx.Client) -> None:
    job = create_job(client, method={"type": "supervised", "supervised": {
        "hyperparameters": {"n_epochs": 9}}})
    wait_for_status(client, job.id, "running")
    assert admin.post(f"/jobs/{job.id}/stall", json={}).json()["stalled"] is True
    count = len(client.fine_tuning.jobs.list_events(job.id, limit=200).data)
    other = create_job(client)
    wait_for_status(client, other.id)
    assert len(client.fine_tuning.jobs.list_events(job.id, limit=200).data) == count
    assert admin.post("/jobs/ftjob-unknown/stall", json={}).status_code == 404


def test_active_job_limit_refuses_with_429(client: OpenAI, admin: httpx.Client) -> None:
    admin.post("/faults", json={"active_job_limit": 2})
    training = upload(client)
    first, _ = create_job(client, training), create_job(client, training)
    with pytest.raises(openai.RateLimitError) as caught:
        create_job(client, training)
    assert caught.value.code == "rate_limit_exceeded"
    assert "active job limit of 2" in caught.value.message
    assert "gpt-4o-mini-2024-07-18" in caught.value.message
    assert create_job(client, training, model="gpt-4.1-mini-2025-04-14").id  # another model
    client.fine_tuning.jobs.cancel(first.id)
    assert create_job(client, training).id
    assert admin.get("/stats").json()["jobs"]["total"] == 4


def test_request_log_and_job_counts(client: OpenAI, admin: httpx.Client) -> None:
    training = upload(client)
    job = wait_for_status(client, create_job(client, training).id)
    create_job(client, training)
    stats = admin.get("/stats").json()
    assert stats["jobs"]["total"] == 2
    assert stats["jobs"]["by_status"]["succeeded"] >= 1
    assert stats["models"]["fine_tuned"] == 1
    posts = admin.get("/requests", params={"method": "POST",
                                           "path": "/v1/fine_tuning/jobs"}).json()["data"]
    assert [(e["method"], e["path"], e["status"]) for e in posts] == [
        ("POST", "/v1/fine_tuning/jobs", 200)] * 2
    assert all(isinstance(e["timestamp"], float) for e in posts)
    assert job.id


def test_reset_clears_state_faults_and_log(client: OpenAI, admin: httpx.Client) -> None:
    upload(client)
    admin.post("/faults", json={"latency_ms": 5, "active_job_limit": 1})
    admin.post("/reset").raise_for_status()
    assert admin.get("/faults").json()["latency_ms"] == 0
    assert admin.get("/faults").json()["active_job_limit"] is None
    assert admin.get("/requests").json()["data"] == []
    assert admin.get("/stats").json()["files"]["total"] == 0
    assert client.files.list().data == []


def test_bad_fault_settings_are_refused_and_change_nothing(admin: httpx.Client) -> None:
    faults, config = admin.get("/faults").json(), admin.get("/config").json()
    assert admin.post("/faults", json={"rate_limit_fraction": 2}).status_code == 400
    assert admin.post("/faults", json={"unknown": 1}).status_code == 400
    assert admin.post("/config", json={"webhook_secret": "nope"}).status_code == 400
    assert admin.get("/faults").json() == faults
    assert admin.get("/config").json() == config


def test_missing_or_malformed_key_answers_401(emulator: str) -> None:
    missing = httpx.get(f"{emulator}/models")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"
    with OpenAI(base_url=emulator, api_key="not-a-key", max_retries=0) as wrong, \
            pytest.raises(openai.AuthenticationError) as caught:
        wrong.models.list()
    assert caught.value.code == "invalid_api_key"
    assert "not-a-key" not in caught.value.message


def test_unknown_route_and_bad_json_use_openai_envelope(emulator: str) -> None:
    headers = {"Authorization": f"Bearer {EMULATOR_KEY}"}
    unknown = httpx.get(f"{emulator}/nothing/here", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Invalid URL (GET /v1/nothing/here)"
    broken = httpx.post(f"{emulator}/fine_tuning/jobs", headers=headers, content=b"{oops")
    assert broken.status_code == 400
    assert broken.json()["error"]["type"] == "invalid_request_error"
    assert broken.headers["x-request-id"].startswith("req_")

