"""The pipeline routes: what is refused before anything runs, ownership, lists, replays."""

from typing import Any

import pytest

from tests.factories import chat_dataset
from tests.support.api import new_project_key, problem
from tests.support.env import MODEL
from tests.support.pipelines import CONVERT, STRATIFIED, create, drive, steps

NO_TEST = {"fractions": {"train": 0.9, "validation": 0.1}}

# (what is wrong, body changes, status, code, field at fault)
REFUSED = [
    ("unknown job model", {"job": {"model": "gpt-nope"}}, 422, "model_not_tunable",
     "body.job.model"),
    ("template names a missing column", {"convert": {**CONVERT, "user": "{Question} {Essay}"}},
     422, "unknown_column", "body.convert.user"),
    ("value map of a missing column", {"convert": {**CONVERT, "value_maps": {"Grade": {}}}}, 422,
     "unknown_column", "body.convert.value_maps.Grade"),
    ("evaluate without a test part", {"split": NO_TEST}, 422, "invalid_request",
     "body.split.fractions"),
    ("evaluate without a split", {"split": None}, 422, "invalid_request", "body.split"),
    ("split without a train part", {"split": {"fractions": {"validation": 0.5, "test": 0.5}}},
     422, "invalid_request", "body.split.fractions"),
    ("a CSV label after convert", {"split": {**STRATIFIED, "label": "Final"}}, 422,
     "invalid_request", "body.split.label"),
    ("a CSV without convert", {"convert": None}, 422, "dataset_format_mismatch", "body.dataset"),
    ("convert to prompt_completion", {"convert": {
        "target": "prompt_completion", "prompt": "{Answers}", "completion": "{Final}"}}, 422,
     "invalid_request", "body.convert.target"),
    ("both hyperparameter forms", {"job": {"model": MODEL, "hyperparameters": {"n_epochs": 2},
                                           "method": {"type": "supervised"}}},
     422, "conflicting_hyperparameters", "body.job.hyperparameters"),
    ("datasets given to the job", {"job": {"model": MODEL, "training_dataset": "ds_1"}}, 422,
     "validation_error", "body.job"),
    ("the pipeline's own job tag", {"job": {"model": MODEL, "metadata": {"pipeline_id": "x"}}},
     422, "validation_error", "body.job"),
    ("a dataset given to evaluate", {"evaluate": {"dataset": "ds_1"}}, 422, "validation_error",
     "body.evaluate"),
    ("an unknown dataset", {"dataset": "ds_missing"}, 404, "dataset_not_found", None),
]


def full_body(dataset_id: str, **changes: Any) -> dict[str, Any]:
    body = {"dataset": dataset_id, "convert": CONVERT, "split": STRATIFIED,
            "job": {"model": MODEL}, "evaluate": {"max_tokens": 10}}
    return {**body, **changes}


@pytest.mark.parametrize(("changes", "status", "code", "field"),
                         [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_a_pipeline_that_cannot_finish_is_refused_before_it_starts(client, ctx, auth, reflections,
                                                                   changes, status, code, field):
    response = client.post("/v1/pipelines", headers=auth,
                           json=full_body(reflections["id"], **changes))

    refused = problem(response, status, code)
    if field is not None:
        assert field in [error["field"] for error in refused["errors"]], refused
    assert client.get("/v1/pipelines", headers=auth).json()["data"] == []
    assert ctx.queue.count == 0


def test_the_whole_request_passes_the_same_checks(client, ctx, auth, reflections):
    response = client.post("/v1/pipelines", headers=auth, json=full_body(reflections["id"]))
    assert response.status_code == 202, response.text
    pipeline = response.json()
    assert pipeline["id"].startswith("pipe_")
    assert pipeline["object"] == "pipeline"
    assert pipeline["status"] == "running"
    assert [step["name"] for step in pipeline["steps"]] == ["convert", "split", "job", "evaluate"]
    assert response.headers["location"] == f"/v1/pipelines/{pipeline['id']}"
    stored = client.get(f"/v1/pipelines/{pipeline['id']}", headers=auth).json()
    assert stored["id"] == pipeline["id"]


def test_a_job_over_its_budget_fails_at_the_job_step_and_creates_no_job(client, ctx, auth,
                                                                        emulator):
    train = chat_dataset(client, ctx, auth)
    created = create(client, auth, dataset=train, job={"model": MODEL, "max_cost_usd": 1e-9})
    pipeline = drive(client, ctx, auth, created["id"])

    assert pipeline["status"] == "failed"
    job = steps(pipeline)["job"]
    assert job["status"] == "failed"
    assert job["resource_id"] is None
    assert job["error"]["code"] == "budget_exceeded"
    assert "max_cost_usd" in job["error"]["message"]
    assert client.get("/v1/jobs", headers=auth).json()["data"] == []
    again = client.post(f"/v1/pipelines/{created['id']}/cancel", headers=auth)
    problem(again, 409, "invalid_pipeline_state")


def test_another_projects_pipeline_is_not_found(client, ctx, auth):
    train = chat_dataset(client, ctx, auth)
    created = create(client, auth, dataset=train, job={"model": MODEL})
    _, other = new_project_key(client, "other")

    for response in (client.get(f"/v1/pipelines/{created['id']}", headers=other),
                     client.post(f"/v1/pipelines/{created['id']}/cancel", headers=other)):
        problem(response, 404, "pipeline_not_found")
    assert client.get("/v1/pipelines", headers=other).json()["data"] == []
    missing = client.get("/v1/pipelines/pipe_000000000000000000000000", headers=auth)
    problem(missing, 404, "pipeline_not_found")
    someone_elses = client.post("/v1/pipelines", headers=other,
                                json={"dataset": train, "job": {"model": MODEL}})
    problem(someone_elses, 404, "dataset_not_found")


def test_list_pages_newest_first_and_filters_by_status(client, ctx, auth):
    train = chat_dataset(client, ctx, auth)
    made = [create(client, auth, dataset=train, job={"model": MODEL})["id"] for _ in range(3)]
    cancelled = client.post(f"/v1/pipelines/{made[0]}/cancel", headers=auth).json()
    assert cancelled["status"] == "cancelled"
    assert [s["status"] for s in cancelled["steps"]] == ["cancelled"]

    first = client.get("/v1/pipelines?limit=2", headers=auth).json()
    assert first["object"] == "list"
    assert first["has_more"] is True
    assert [p["id"] for p in first["data"]] == [made[2], made[1]]
    rest = client.get(f"/v1/pipelines?limit=2&after={first['last_id']}", headers=auth).json()
    assert [p["id"] for p in rest["data"]] == [made[0]]
    assert rest["has_more"] is False
    only = client.get("/v1/pipelines?status=cancelled", headers=auth).json()
    assert [p["id"] for p in only["data"]] == [made[0]]
    assert "request" not in first["data"][0]
    assert "project_id" not in first["data"][0]


def test_the_same_idempotency_key_replays_the_first_pipeline(client, ctx, auth):
    train = chat_dataset(client, ctx, auth)
    body = {"dataset": train, "job": {"model": MODEL}}
    headers = {**auth, "Idempotency-Key": "pipe-1"}
    first = client.post("/v1/pipelines", headers=headers, json=body)
    again = client.post("/v1/pipelines", headers=headers, json=body)

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(client.get("/v1/pipelines", headers=auth).json()["data"]) == 1
    other = client.post("/v1/pipelines", headers=headers, json={**body, "split": NO_TEST})
    problem(other, 409, "idempotency_key_reused")
