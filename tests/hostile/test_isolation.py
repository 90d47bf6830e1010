"""One project's ids are worth nothing to another: every route answers 404 as if they did not
exist. And at the end of a whole journey no secret is anywhere in plain text: not in a response,
a log line, an event, or a Redis value."""

import re
from typing import Any

import httpx
import pytest

from tests.factories import chat_dataset, run_tasks
from tests.support.api import new_project_key
from tests.support.env import ADMIN_KEY, EMULATOR_KEY, MODEL, emulator_settings
from tests.support.evaluations import create, finish, succeeded_job


@pytest.fixture
def settings_overrides(emulator) -> dict[str, object]:
    return emulator_settings(emulator, evaluation_batch_poll_seconds=0.1,
                             openai_requests_per_minute=60_000, rate_limit_per_minute=100_000,
                             log_level="INFO")


@pytest.fixture
def seen(client) -> list[httpx.Response]:
    """Every response the test client receives, read in full."""
    responses: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        responses.append(response)

    client.event_hooks["response"].append(keep)
    return responses


@pytest.fixture
def owned(client, ctx, auth, seen) -> dict[str, Any]:
    """Project A's resources of every kind: a dataset, a succeeded job with its fine-tuned
    model, an evaluation, a webhook and a pipeline."""
    dataset = chat_dataset(client, ctx, auth, 30)
    job = succeeded_job(client, ctx, auth, dataset)
    evaluation = create(client, auth, dataset=dataset, job=job["id"], max_examples=4,
                        max_tokens=5)
    finish(client, ctx, auth, evaluation["id"])
    webhook = client.post("/v1/webhooks", headers=auth, json={
        "url": "https://93.184.215.14/hook", "events": ["job.succeeded"]})
    assert webhook.status_code == 201, webhook.text
    pipeline = client.post("/v1/pipelines", headers=auth, json={
        "dataset": dataset, "job": {"model": MODEL}})
    assert pipeline.status_code == 202, pipeline.text
    run_tasks(ctx)
    return {"dataset": dataset, "job": job["id"], "model": job["fine_tuned_model"],
            "evaluation": evaluation["id"], "webhook": webhook.json()["id"],
            "webhook_secret": webhook.json()["secret"], "pipeline": pipeline.json()["id"]}


def routes_with(ids: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    """(method, path, JSON body, the not-found code) for every route that takes an id."""
    ds, job, ev = ids["dataset"], ids["job"], ids["evaluation"]
    wh, pipe, model = ids["webhook"], ids["pipeline"], ids["model"]
    split = {"strategy": "random", "fractions": {"train": 0.5, "test": 0.5}, "seed": 1}
    return [
        ("GET", f"/v1/datasets/{ds}", None, "dataset_not_found"),
        ("GET", f"/v1/datasets/{ds}/content", None, "dataset_not_found"),
        ("GET", f"/v1/datasets/{ds}/rows", None, "dataset_not_found"),
        ("GET", f"/v1/datasets/{ds}/report", None, "dataset_not_found"),
        ("POST", f"/v1/datasets/{ds}/convert", {"system": "s"}, "dataset_not_found"),
        ("POST", f"/v1/datasets/{ds}/split", split, "dataset_not_found"),
        ("GET", f"/v1/datasets?after={ds}", None, "dataset_not_found"),
        ("GET", f"/v1/jobs/{job}", None, "job_not_found"),
        ("GET", f"/v1/jobs/{job}/events", None, "job_not_found"),
        ("GET", f"/v1/jobs/{job}/events/stream", None, "job_not_found"),
        ("GET", f"/v1/jobs/{job}/metrics", None, "job_not_found"),
        ("GET", f"/v1/jobs/{job}/metrics?format=csv", None, "job_not_found"),
        ("GET", f"/v1/jobs/{job}/checkpoints", None, "job_not_found"),
        ("POST", f"/v1/jobs/{job}/cancel", None, "job_not_found"),
        ("POST", f"/v1/jobs/{job}/pause", None, "job_not_found"),
        ("POST", f"/v1/jobs/{job}/resume", None, "job_not_found"),
        ("GET", f"/v1/jobs?after={job}", None, "job_not_found"),
        ("POST", "/v1/jobs", {"model": MODEL, "training_dataset": ds}, "dataset_not_found"),
        ("GET", f"/v1/evaluations/{ev}", None, "evaluation_not_found"),
        ("GET", f"/v1/evaluations/{ev}/predictions", None, "evaluation_not_found"),
        ("GET", f"/v1/evaluations/{ev}/predictions?format=csv", None, "evaluation_not_found"),
        ("POST", f"/v1/evaluations/{ev}/cancel", None, "evaluation_not_found"),
        ("POST", "/v1/evaluations", {"dataset": ds, "models": [MODEL]}, "dataset_not_found"),
        ("POST", "/v1/evaluations", {"dataset": ds, "job": job}, "dataset_not_found"),
        ("GET", f"/v1/webhooks/{wh}", None, "webhook_not_found"),
        ("GET", f"/v1/webhooks/{wh}/deliveries", None, "webhook_not_found"),
        ("DELETE", f"/v1/webhooks/{wh}", None, "webhook_not_found"),
        ("GET", f"/v1/pipelines/{pipe}", None, "pipeline_not_found"),
        ("POST", f"/v1/pipelines/{pipe}/cancel", None, "pipeline_not_found"),
        ("POST", "/v1/pipelines", {"dataset": ds, "job": {"model": MODEL}}, "dataset_not_found"),
        ("GET", f"/v1/models/{model}", None, "model_not_found"),
        ("DELETE", f"/v1/models/{model}", None, "model_not_found"),
        ("POST", "/v1/chat/completions",
         {"model": model, "messages": [{"role": "user", "content": "hi"}]}, "model_not_found"),
        ("POST", "/v1/embeddings", {"model": model, "input": "hi"}, "model_not_found"),
        ("DELETE", f"/v1/datasets/{ds}", None, "dataset_not_found"),
    ]


def error_code(response: httpx.Response) -> str:
    body = response.json()
    return body["error"]["code"] if "error" in body else body["code"]


def test_every_route_answers_404_to_another_projects_ids(client, auth, owned):
    _, other = new_project_key(client, "other")
    for method, path, body, code in routes_with(owned):
        response = client.request(method, path, headers=other, json=body)
        assert response.status_code == 404, (method, path, response.text[:300])
        assert error_code(response) == code, (method, path, response.text[:300])
    # and nothing of A's was touched by B's attempts
    for method, path, _, _ in routes_with(owned)[:3]:
        assert client.request(method, path, headers=auth).status_code == 200, path
    assert client.get(f"/v1/models/{owned['model']}", headers=auth).json()["status"] == "active"
    assert client.get(f"/v1/webhooks/{owned['webhook']}", headers=auth).status_code == 200


def test_lists_of_another_project_show_nothing(client, owned):
    _, other = new_project_key(client, "other")
    for route in ("/v1/datasets", "/v1/jobs", "/v1/evaluations", "/v1/webhooks",
                  "/v1/pipelines"):
        response = client.get(route, headers=other)
        assert response.status_code == 200, route
        assert response.json()["data"] == [], route
    # The model list holds the configured base models, never another project's fine-tuned one.
    models = [m["id"] for m in client.get("/v1/models", headers=other).json()["data"]]
    assert owned["model"] not in models
    assert not any(model.startswith("ft:") for model in models), models


def test_metrics_expose_no_projects_data(client, auth, owned):
    text = client.get("/metrics").text
    assert "ftm_http_requests_total" in text
    secret = auth["Authorization"].removeprefix("Bearer ")
    for value in (owned["dataset"], owned["job"], owned["model"], owned["evaluation"],
                  owned["webhook"], owned["pipeline"], secret, EMULATOR_KEY,
                  owned["webhook_secret"]):
        assert value not in text, value
    assert not re.search(r"\b(proj|key|ds|job|eval|wh|pipe)_[0-9a-f]{12,}", text)


def test_a_revoked_key_stops_working_at_once_on_every_route(client, admin_headers, owned):
    project = client.post("/v1/admin/projects", json={"name": "r"}, headers=admin_headers).json()
    key = client.post(f"/v1/admin/projects/{project['id']}/keys", headers=admin_headers).json()
    auth = {"Authorization": f"Bearer {key['key']}"}
    assert client.get("/v1/datasets", headers=auth).status_code == 200
    assert client.delete(f"/v1/admin/keys/{key['id']}", headers=admin_headers).status_code == 200
    for route in ("/v1/datasets", "/v1/jobs", "/v1/models", "/v1/webhooks", "/v1/evaluations",
                  "/v1/pipelines", f"/v1/jobs/{owned['job']}"):
        response = client.get(route, headers=auth)
        assert response.status_code == 401, route


def redis_dump(redis_client) -> bytes:
    """Every value in Redis, whatever its type, as bytes."""
    parts = []
    for key in redis_client.scan_iter("*"):
        kind = redis_client.type(key).decode()
        if kind == "string":
            parts.append(redis_client.get(key) or b"")
        elif kind == "hash":
            parts += [k + b"=" + v for k, v in redis_client.hgetall(key).items()]
        elif kind == "list":
            parts += redis_client.lrange(key, 0, -1)
        elif kind == "set":
            parts += list(redis_client.smembers(key))
        elif kind == "zset":
            parts += [m for m, _ in redis_client.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            for _, fields in redis_client.xrange(key):
                parts += [k + b"=" + v for k, v in fields.items()]
        parts.append(key)
    return b"\n".join(parts)


def is_shown_once(response: httpx.Response) -> bool:
    """A webhook's creation answers its secret, once, by contract."""
    return response.request.method == "POST" and response.request.url.path == "/v1/webhooks"


def test_no_secret_in_any_response_log_event_or_redis_value(capsys, client, ctx, auth, seen,
                                                            owned, redis_client):
    # capsys first: it captures from before the journey, the worker's tasks included
    secrets = [EMULATOR_KEY, auth["Authorization"].removeprefix("Bearer "), ADMIN_KEY]
    events = client.get(f"/v1/jobs/{owned['job']}/events?limit=100", headers=auth)
    assert events.status_code == 200
    assert events.json()["data"]
    stream = client.get(f"/v1/jobs/{owned['job']}/events/stream", headers=auth)
    assert stream.status_code == 200
    assert "event: end" in stream.text
    for route in ("/v1/datasets", "/v1/jobs", "/v1/models", "/v1/webhooks", "/metrics",
                  f"/v1/webhooks/{owned['webhook']}/deliveries", "/openapi.json"):
        client.get(route, headers=auth)
    assert len(seen) > 10
    for response in seen:
        text = response.text + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        for secret in secrets:
            assert secret not in text, (response.request.url, secret[:6])
        if not is_shown_once(response):
            assert owned["webhook_secret"] not in text, response.request.url
    logged = capsys.readouterr()
    assert logged.out.count("\n") > 10
    stored = redis_dump(redis_client)
    assert len(stored) > 1000
    for secret in [*secrets, owned["webhook_secret"]]:
        assert secret not in logged.out, secret[:6]
        assert secret not in logged.err, secret[:6]
    for secret in secrets:
        assert secret.encode() not in stored, secret[:6]
