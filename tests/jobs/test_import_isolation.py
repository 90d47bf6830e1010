"""Importing a provider job another project follows answers exactly as for a job the provider
does not know: no cross-project oracle."""

import openai

from tests.factories import chat_lines
from tests.support.api import new_project_key, problem
from tests.support.env import EMULATOR_KEY


def test_another_projects_provider_job_looks_unknown(client, emulator):
    remote = openai.OpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=0)
    file = remote.files.create(file=("t.jsonl", chat_lines(20).encode()), purpose="fine-tune")
    created = remote.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id)
    _, owner = new_project_key(client, "owner")
    _, other = new_project_key(client, "other")
    assert client.post("/v1/jobs/import", headers=owner,
                       json={"provider_job_id": created.id}).status_code == 202

    theirs = client.post("/v1/jobs/import", headers=other, json={"provider_job_id": created.id})
    unknown = client.post("/v1/jobs/import", headers=other,
                          json={"provider_job_id": "ftjob-doesnotexist0000"})
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.headers["content-type"] == unknown.headers["content-type"]
    assert theirs.json() == {**unknown.json(), "detail": unknown.json()["detail"].replace(
        "ftjob-doesnotexist0000", created.id)}
    assert theirs.json()["code"] == "provider_job_not_found"
    assert client.get("/v1/jobs", headers=other).json()["data"] == []
    again = client.post("/v1/jobs/import", headers=owner, json={"provider_job_id": created.id})
    problem(again, 409, "provider_job_already_tracked")
