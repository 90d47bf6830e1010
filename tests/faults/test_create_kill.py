"""The API process killed (SIGKILL) just after recording a job, before it answered: the client's
retry with the same Idempotency-Key gets that job, never a second one (a second fine-tune)."""

import signal

import httpx
import pytest

from tests.factories import chat_lines, run_tasks
from tests.support.env import MODEL
from tests.support.processes import Api, new_key


def test_a_job_recorded_just_before_the_api_died_is_replayed_not_created_again(settings, ctx,
                                                                                apis):
    apis.append(api := Api(settings, FTM_FAULT_POINTS='["jobs.create.recorded"]'))
    auth = new_key(api)
    dataset = httpx.post(f"{api.url}/v1/datasets", headers=auth,
                         files={"file": ("d.jsonl", chat_lines(20).encode())}).json()
    run_tasks(ctx)
    request = {"headers": {**auth, "Idempotency-Key": "once"},
               "json": {"model": MODEL, "training_dataset": dataset["id"]}}
    with pytest.raises(httpx.HTTPError):  # the API dies before it answers
        httpx.post(f"{api.url}/v1/jobs", **request)
    api.process.wait(10)
    assert api.process.returncode == -signal.SIGKILL

    apis.append(api := Api(settings))
    again = httpx.post(f"{api.url}/v1/jobs", **request)
    assert again.status_code == 202, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    jobs = httpx.get(f"{api.url}/v1/jobs", headers=auth).json()["data"]
    assert [job["id"] for job in jobs] == [again.json()["id"]]
    assert again.headers["Location"] == f"/v1/jobs/{jobs[0]['id']}"
