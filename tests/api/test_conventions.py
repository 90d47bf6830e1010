import pytest

from tests.support.api import problem


def test_request_id_is_echoed_or_made(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    made = client.get("/healthz").headers["x-request-id"]
    assert made.startswith("req_")
    assert len(made) > 10


def test_unknown_route_is_404_problem(client, auth):
    response = client.get("/v1/nothing-here", headers=auth)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_wrong_method_is_405_problem(client, auth):
    response = client.put("/v1/datasets", headers=auth)
    problem(response, 405, "method_not_allowed")


def test_malformed_json_is_400_problem(client, admin_headers):
    response = client.post("/v1/admin/projects", content=b'{"name": ',
                           headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "malformed_json"
    assert "not valid JSON" in body["detail"]


def test_wrong_type_is_422_with_field(client, admin_headers):
    response = client.post("/v1/admin/projects", json={"name": ["x"], "colour": 1},
                           headers=admin_headers)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    fields = {error["field"] for error in body["errors"]}
    assert {"body.name", "body.colour"} <= fields


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 1000}])
def test_oversize_body_is_413_before_reading(client, admin_headers, settings_overrides):
    big = b'{"name": "' + b"x" * 5000 + b'"}'
    response = client.post("/v1/admin/projects", content=big,
                           headers={**admin_headers, "Content-Type": "application/json"})
    problem(response, 413, "payload_too_large")
    assert "1000" in response.json()["detail"]


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 1000}])
def test_oversize_chunked_body_is_413(client, admin_headers, settings_overrides):
    def chunks():
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = client.post("/v1/admin/projects", content=chunks(),
                           headers={**admin_headers, "Content-Type": "application/json"})
    body = problem(response, 413, "payload_too_large")
    assert "1000" in body["detail"]


@pytest.mark.smoke
def test_idempotent_replay_returns_the_first_answer(client, admin_headers):
    headers = {**admin_headers, "Idempotency-Key": "create-a"}
    first = client.post("/v1/admin/projects", json={"name": "a", "budget_usd": 5},
                        headers=headers)
    again = client.post("/v1/admin/projects", content=b'{"budget_usd":5,  "name":"a"}',
                        headers={**headers, "Content-Type": "application/json"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert "idempotent-replayed" not in first.headers


@pytest.mark.smoke
def test_idempotency_key_with_another_body_is_409(client, admin_headers):
    headers = {**admin_headers, "Idempotency-Key": "create-b"}
    assert client.post("/v1/admin/projects", json={"name": "a"}, headers=headers).status_code == 201
    response = client.post("/v1/admin/projects", json={"name": "b"}, headers=headers)
    problem(response, 409, "idempotency_key_reused")


def test_failed_request_does_not_burn_the_idempotency_key(client, admin_headers):
    headers = {**admin_headers, "Idempotency-Key": "create-c"}
    bad = client.post("/v1/admin/projects", json={"name": ""}, headers=headers)
    assert problem(bad, 422, "validation_error")["errors"][0]["field"] == "body.name"
    again = client.post("/v1/admin/projects", json={"name": ""}, headers=headers)
    problem(again, 422, "validation_error")
    assert "idempotent-replayed" not in again.headers
    good = client.post("/v1/admin/projects", json={"name": "c"}, headers=headers)
    assert good.status_code == 201, good.text
    assert good.json()["name"] == "c"
    assert "idempotent-replayed" not in good.headers


def test_health_ready_and_metrics(client, auth):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["checks"] == {"redis": True, "storage": True, "tokenizer": True}
    client.get("/v1/datasets", headers=auth)
    metrics = client.get("/metrics").text
    assert 'ftm_http_requests_total{method="GET",route="/v1/datasets",status="200"}' in metrics
    assert "ftm_queue_depth" not in metrics  # global: on /metrics/cluster, not per replica
    assert "ftm_queue_depth" in client.get("/metrics/cluster").text


@pytest.mark.parametrize("settings_overrides", [{"redis_url": "redis://127.0.0.1:1/0"}])
def test_readyz_is_503_without_redis(client, settings_overrides):
    response = client.get("/readyz")
    problem(response, 503, "not_ready")
    assert "redis" in response.json()["detail"]
