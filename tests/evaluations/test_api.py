"""The evaluation routes: what they refuse, listing, other projects, predictions and CSV."""

import csv
import io
import json

import pytest

from tests.factories import chat_dataset, ready_dataset, upload
from tests.support.api import new_project_key, problem
from tests.support.env import MODEL
from tests.support.evaluations import all_predictions, create, finish


def post(client, auth, **body):
    return client.post("/v1/evaluations", headers=auth, json=body)


def test_unknown_fine_tuned_model_is_404_model_not_found(client, ctx, auth):
    dataset = chat_dataset(client, ctx, auth, 6)
    response = post(client, auth, dataset=dataset, models=[MODEL, "ft:gpt-4o-mini:nobody:x:1"])
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "model_not_found"
    assert "ft:gpt-4o-mini:nobody:x:1" in body["detail"]


def test_unconfigured_base_model_is_422_model_not_available(client, ctx, auth):
    dataset = chat_dataset(client, ctx, auth, 6)
    response = post(client, auth, dataset=dataset, models=[MODEL, "davinci-002"])
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "model_not_available"
    assert "davinci-002" in body["detail"]
    assert body["errors"][0]["field"] == "body.models[1]"


def test_deleted_fine_tuned_model_is_422_naming_it(client, ctx, auth, tuned):
    deleted = client.delete(f"/v1/models/{tuned['model']}", headers=auth)
    assert deleted.status_code == 200, deleted.text
    for body in ({"models": [tuned["model"]]}, {"job": tuned["job"]["id"]}):
        response = post(client, auth, dataset=tuned["dataset"], **body)
        problem(response, 422, "model_not_available")
        assert tuned["model"] in response.json()["detail"]
        assert "deleted" in response.json()["detail"]


def test_a_job_that_has_not_succeeded_is_409(client, ctx, auth, emulator):
    dataset = chat_dataset(client, ctx, auth, 12)
    job = client.post("/v1/jobs", headers=auth,
                      json={"model": MODEL, "training_dataset": dataset}).json()
    response = post(client, auth, dataset=dataset, job=job["id"])
    problem(response, 409, "invalid_job_state")
    missing = post(client, auth, dataset=dataset, job="job_nope")
    problem(missing, 404, "job_not_found")


@pytest.mark.parametrize("body, field", [
    ({"models": [MODEL], "job": "job_x"}, "body"),
    ({}, "body"),
    ({"models": []}, "body.models"),
    ({"models": [MODEL, MODEL]}, "body"),
    ({"models": [MODEL] * 2 + ["a", "b", "c"]}, "body.models"),
    ({"models": [MODEL], "concurrency": 65}, "body.concurrency"),
    ({"models": [MODEL], "scoring": "fuzzy"}, "body.scoring"),
    ({"models": [MODEL], "mode": "later"}, "body.mode"),
    ({"models": [MODEL], "colour": 1}, "body.colour"),
])
def test_malformed_bodies_are_422_with_the_field(client, ctx, auth, body, field):
    response = post(client, auth, dataset="ds_x", **body)
    problem(response, 422, "validation_error")
    assert field in {error["field"] for error in response.json()["errors"]}


def test_dataset_must_be_a_ready_chat_dataset(client, ctx, auth):
    csv_ds = ready_dataset(client, ctx, auth, "a,b\n1,2\n", filename="x.csv")
    response = post(client, auth, dataset=csv_ds["id"], models=[MODEL])
    problem(response, 422, "dataset_format_mismatch")
    processing = upload(client, auth, "\n".join(['{"messages": []}'] * 3)).json()
    response = post(client, auth, dataset=processing["id"], models=[MODEL])
    problem(response, 409, "dataset_not_ready")
    response = post(client, auth, dataset="ds_missing", models=[MODEL])
    problem(response, 404, "dataset_not_found")


def test_another_projects_evaluation_is_404(client, ctx, auth):
    dataset = chat_dataset(client, ctx, auth, 6)
    created = create(client, auth, dataset=dataset, models=[MODEL])
    _, other = new_project_key(client, "other")
    for method, path in (("get", ""), ("post", "/cancel"), ("get", "/predictions"),
                         ("get", "/predictions?format=csv")):
        response = client.request(method.upper(), f"/v1/evaluations/{created['id']}{path}",
                                  headers=other)
        problem(response, 404, "evaluation_not_found")
    assert client.get("/v1/evaluations", headers=other).json()["data"] == []
    response = post(client, other, dataset=dataset, models=[MODEL])
    problem(response, 404, "dataset_not_found")


def test_list_is_newest_first_and_paged(client, ctx, auth):
    dataset = chat_dataset(client, ctx, auth, 6)
    ids = [create(client, auth, dataset=dataset, models=[MODEL])["id"] for _ in range(3)]
    first = client.get("/v1/evaluations?limit=2", headers=auth).json()
    assert [e["id"] for e in first["data"]] == ids[::-1][:2]
    assert first["has_more"]
    rest = client.get(f"/v1/evaluations?limit=2&after={first['last_id']}", headers=auth).json()
    assert [e["id"] for e in rest["data"]] == [ids[0]]
    assert not rest["has_more"]
    shown = first["data"][0]
    assert shown["object"] == "evaluation"
    assert shown["status"] == "queued"
    assert shown["progress"] == {"done": 0, "total": None}
    assert "project_id" not in shown


def test_default_scoring_is_label_for_labels_and_normalized_for_free_text(client, ctx, auth):
    labelled = chat_dataset(client, ctx, auth, 12)
    assert create(client, auth, dataset=labelled, models=[MODEL])["scoring"] == "label"
    free = "\n".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {
        "role": "assistant", "content": f"answer number {i}"}]}) for i in range(12))
    free_ds = ready_dataset(client, ctx, auth, free + "\n")
    assert create(client, auth, dataset=free_ds["id"], models=[MODEL])["scoring"] == "normalized"
    chosen = create(client, auth, dataset=labelled, models=[MODEL], scoring="exact")
    assert chosen["scoring"] == "exact"


def test_predictions_filter_page_and_csv(client, ctx, auth, tuned):
    created = create(client, auth, dataset=tuned["dataset"], job=tuned["job"]["id"],
                     max_examples=12, max_tokens=10)
    evaluation = finish(client, ctx, auth, created["id"])
    assert evaluation["status"] == "succeeded"
    assert evaluation["progress"]["total"] == 24
    tuned_model, base = evaluation["models"]

    every = all_predictions(client, auth, created["id"])
    assert [(p["index"], p["model"]) for p in every] == [
        (i, m) for i in range(12) for m in (tuned_model, base)]
    first = every[0]
    assert set(first) >= {"index", "model", "expected", "output", "predicted_label", "correct",
                          "invalid", "latency_ms", "prompt_tokens", "completion_tokens", "error",
                          "input"}
    rows = client.get(f"/v1/datasets/{tuned['dataset']}/rows?limit=12", headers=auth).json()
    for prediction in every:  # the messages sent: the example's lines before its answer
        messages = rows["data"][prediction["index"]]["data"]["messages"]
        assert messages[-1] == {"role": "assistant", "content": prediction["expected"]}
        assert prediction["input"] == [{"role": m["role"], "content": m["content"]}
                                       for m in messages[:-1]]

    right = all_predictions(client, auth, created["id"], "&correct=true")
    wrong = all_predictions(client, auth, created["id"], "&correct=false")
    assert all(p["correct"] for p in right)
    assert not any(p["correct"] for p in wrong)
    assert len(right) + len(wrong) == 24
    assert len(right) == round(12 * sum(evaluation["results"][m]["accuracy"]
                                        for m in (tuned_model, base)))
    only_base = all_predictions(client, auth, created["id"], f"&model={base}")
    assert [p["index"] for p in only_base] == list(range(12))
    assert {p["model"] for p in only_base} == {base}

    page = client.get(f"/v1/evaluations/{created['id']}/predictions?limit=5",
                      headers=auth).json()
    assert page["has_more"]
    assert page["last_id"] == page["data"][-1]["id"]
    bad = client.get(f"/v1/evaluations/{created['id']}/predictions?after=nope", headers=auth)
    problem(bad, 422, "invalid_cursor")

    response = client.get(f"/v1/evaluations/{created['id']}/predictions?format=csv"
                          "&correct=false", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(wrong)
    assert list(rows[0]) == ["index", "model", "expected", "output", "predicted_label",
                             "correct", "invalid", "latency_ms", "prompt_tokens",
                             "completion_tokens", "error"]
    assert [(int(r["index"]), r["model"], r["output"]) for r in rows] == [
        (p["index"], p["model"], p["output"]) for p in wrong]
    assert {r["correct"] for r in rows} == {"false"}


def test_a_dataset_under_evaluation_cannot_be_deleted_until_it_ends(client, ctx, auth, tuned):
    created = create(client, auth, dataset=tuned["dataset"], models=[tuned["model"]])
    refused = client.delete(f"/v1/datasets/{tuned['dataset']}", headers=auth)
    problem(refused, 409, "dataset_in_use")
    assert created["id"] in refused.json()["detail"]
    assert client.get(f"/v1/datasets/{tuned['dataset']}", headers=auth).status_code == 200
    assert finish(client, ctx, auth, created["id"])["status"] == "succeeded"
    assert client.delete(f"/v1/datasets/{tuned['dataset']}", headers=auth).status_code == 200
