"""POST /v1/jobs refuses everything a user can get wrong before any money is spent."""

import pytest

from tests.factories import chat_dataset, ready_dataset, upload
from tests.support.api import new_project_key, problem
from tests.support.emulator import stats
from tests.support.env import MODEL


@pytest.fixture
def train(client, ctx, auth):
    return chat_dataset(client, ctx, auth, 30)


def post(client, auth, **body):
    return client.post("/v1/jobs", headers=auth, json={"model": MODEL, **body})


def provider_jobs(emulator):
    return stats(emulator)["jobs"]["total"]


def test_dry_run_prices_and_creates_nothing(client, auth, train, emulator, redis_client):
    response = post(client, auth, training_dataset=train, suffix="x", dry_run=True,
                    hyperparameters={"n_epochs": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["estimate"]["n_epochs"] == 2
    assert body["estimate"]["billing_tokens"] == body["report"]["estimate"]["tokens_per_epoch"] * 2
    request = body["provider_request"]
    assert request["model"] == MODEL
    assert request["suffix"] == "x"
    assert request["method"] == {"type": "supervised",
                                 "supervised": {"hyperparameters": {"n_epochs": 2}}}
    assert client.get("/v1/jobs", headers=auth).json()["data"] == []
    assert provider_jobs(emulator) == 0


def test_idempotent_create_replays_one_job(client, auth, train):
    headers = {**auth, "Idempotency-Key": "reflection-v1"}
    body = {"model": MODEL, "training_dataset": train, "hyperparameters": {"n_epochs": "auto"}}
    first = client.post("/v1/jobs", headers=headers, json=body)
    again = client.post("/v1/jobs", headers=headers, json=body)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(client.get("/v1/jobs", headers=auth).json()["data"]) == 1


@pytest.mark.parametrize("body, status, code, field", [
    ({"model": "gpt-2"}, 422, "model_not_tunable", "body.model"),
    ({"suffix": "x" * 65}, 422, "validation_error", "body.suffix"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, 422, "validation_error", "body.metadata"),
    ({"hyperparameters": {"n_epochs": 0}}, 422, "validation_error",
     "body.hyperparameters.n_epochs"),
    ({"hyperparameters": {"n_epochs": 2}, "method": {"type": "supervised"}}, 422,
     "conflicting_hyperparameters", "body.hyperparameters"),
    ({"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}}, 422,
     "dataset_format_mismatch", "body.training_dataset"),
    ({"max_cost_usd": 0.000001}, 422, "budget_exceeded", "body.max_cost_usd"),
    ({"training_dataset": "ds_missing"}, 404, "dataset_not_found", None),
])
def test_bad_job_requests_are_refused(client, auth, train, emulator, body, status, code, field):
    response = post(client, auth, **{"training_dataset": train, **body})
    refused = problem(response, status, code)
    if field:
        assert field in [e["field"] for e in refused.get("errors", [])], refused
    assert client.get("/v1/jobs", headers=auth).json()["data"] == []
    assert provider_jobs(emulator) == 0


def test_dataset_still_processing_is_409(client, auth):
    created = upload(client, auth, "\n".join(['{"messages": []}'] * 3)).json()
    response = post(client, auth, training_dataset=created["id"])
    problem(response, 409, "dataset_not_ready")


def test_invalid_dataset_is_409_naming_the_problem(client, ctx, auth):
    bad = ready_dataset(client, ctx, auth, '{"messages": [{"role": "user", "content": "hi"}]}\n')
    assert bad["status"] == "invalid"
    response = post(client, auth, training_dataset=bad["id"])
    assert response.status_code == 409
    assert "invalid" in response.json()["detail"]


def test_csv_dataset_needs_converting(client, ctx, auth):
    csv_ds = ready_dataset(client, ctx, auth, b"a,b\n1,2\n", filename="x.csv")
    response = post(client, auth, training_dataset=csv_ds["id"])
    problem(response, 422, "dataset_format_mismatch")


def test_another_projects_dataset_and_job_are_404(client, auth, train):
    _, other = new_project_key(client, "other")
    response = post(client, other, training_dataset=train)
    problem(response, 404, "dataset_not_found")
    job = post(client, auth, training_dataset=train).json()
    for path in ("", "/events", "/metrics", "/checkpoints"):
        missing = client.get(f"/v1/jobs/{job['id']}{path}", headers=other)
        problem(missing, 404, "job_not_found")
    assert client.post(f"/v1/jobs/{job['id']}/cancel", headers=other).status_code == 404


def test_project_budget_applies(client, ctx, auth, admin_headers, train):
    project = client.post("/v1/admin/projects", json={"name": "tight", "budget_usd": 0.0000001},
                          headers=admin_headers).json()
    key = client.post(f"/v1/admin/projects/{project['id']}/keys", headers=admin_headers).json()
    tight = {"Authorization": f"Bearer {key['key']}"}
    dataset = chat_dataset(client, ctx, tight, 20)
    response = post(client, tight, training_dataset=dataset)
    problem(response, 422, "budget_exceeded")


def test_pause_or_resume_in_the_wrong_state_is_409(client, auth, train):
    job = post(client, auth, training_dataset=train).json()
    for action in ("pause", "resume"):
        response = client.post(f"/v1/jobs/{job['id']}/{action}", headers=auth)
        problem(response, 409, "invalid_job_state")


def test_list_filters_by_status_and_model(client, auth, train):
    job = post(client, auth, training_dataset=train).json()
    pending = client.get("/v1/jobs?status=pending", headers=auth).json()["data"]
    assert [j["id"] for j in pending] == [job["id"]]
    assert client.get("/v1/jobs?status=running", headers=auth).json()["data"] == []
    assert client.get("/v1/jobs?model=gpt-4.1-2025-04-14", headers=auth).json()["data"] == []
    assert client.get("/v1/jobs?status=nonsense", headers=auth).status_code == 422


def test_event_cursor_must_be_an_event_id(client, auth, train):
    job = post(client, auth, training_dataset=train).json()
    response = client.get(f"/v1/jobs/{job['id']}/events?after=bogus", headers=auth)
    problem(response, 422, "invalid_cursor")
    events = client.get(f"/v1/jobs/{job['id']}/events", headers=auth).json()
    assert events["data"][0]["type"] == "status"
    assert events["data"][0]["data"]["to"] == "pending"
    after = client.get(f"/v1/jobs/{job['id']}/events?after={events['last_id']}", headers=auth)
    assert after.json()["data"] == []
