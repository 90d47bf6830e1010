import hashlib

import pytest

from tests.factories import chat_lines, upload
from tests.support.api import new_project_key, problem


@pytest.mark.smoke
def test_v1_route_without_key_is_401_problem(client):
    response = client.get("/v1/datasets")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "unauthorized"
    assert body["status"] == 401
    assert body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_key_is_401(client):
    response = client.get("/v1/datasets", headers={"Authorization": "Bearer ftm_nope"})
    problem(response, 401, "unauthorized")


def test_key_lists_an_empty_project(client, auth):
    response = client.get("/v1/datasets", headers=auth)
    assert response.status_code == 200
    assert response.json() == {"object": "list", "data": [], "has_more": False,
                               "first_id": None, "last_id": None}


def test_admin_routes_refuse_a_project_key(client, auth):
    response = client.post("/v1/admin/projects", json={"name": "x"}, headers=auth)
    body = problem(response, 401, "unauthorized")
    assert "admin key" in body["detail"]


def test_keys_are_stored_only_as_sha256(client, admin_headers, redis_client):
    project = client.post("/v1/admin/projects", json={"name": "a"}, headers=admin_headers)
    assert project.status_code == 201
    assert project.headers["location"] == f"/v1/admin/projects/{project.json()['id']}"
    created = client.post(f"/v1/admin/projects/{project.json()['id']}/keys",
                          json={"name": "ci"}, headers=admin_headers).json()
    secret = created["key"]
    assert secret.startswith("ftm_")
    assert created["redacted"] != secret
    dump = b"".join(k + (redis_client.dump(k) or b"") for k in redis_client.keys("*"))
    assert secret.encode() not in dump
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in dump


@pytest.mark.smoke
def test_revoked_key_stops_working_and_revoking_again_is_harmless(client, admin_headers):
    project = client.post("/v1/admin/projects", json={"name": "a"}, headers=admin_headers).json()
    key = client.post(f"/v1/admin/projects/{project['id']}/keys", headers=admin_headers).json()
    auth = {"Authorization": f"Bearer {key['key']}"}
    assert client.get("/v1/datasets", headers=auth).status_code == 200
    for _ in range(2):
        response = client.delete(f"/v1/admin/keys/{key['id']}", headers=admin_headers)
        assert response.json() == {"id": key["id"], "object": "api_key", "deleted": True}
    assert client.get("/v1/datasets", headers=auth).status_code == 401


def test_unknown_project_and_key_are_404(client, admin_headers):
    response = client.post("/v1/admin/projects/proj_nope/keys", headers=admin_headers)
    problem(response, 404, "project_not_found")
    response = client.delete("/v1/admin/keys/key_nope", headers=admin_headers)
    problem(response, 404, "key_not_found")


def test_another_projects_key_does_not_see_its_lists(client):
    _, first = new_project_key(client, "first")
    _, second = new_project_key(client, "second")
    assert first != second
    created = upload(client, first, chat_lines(3))
    assert created.status_code == 201, created.text
    assert client.get("/v1/datasets", headers=second).json()["data"] == []
    problem(client.get(f"/v1/datasets/{created.json()['id']}", headers=second), 404,
            "dataset_not_found")
    problem(client.get("/v1/datasets/ds_missing", headers=second), 404, "dataset_not_found")


@pytest.mark.smoke
@pytest.mark.parametrize("settings_overrides", [{"rate_limit_per_minute": 3}])
def test_rate_limit_answers_429_with_retry_after(client, auth, settings_overrides):
    statuses = [client.get("/v1/datasets", headers=auth).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/v1/datasets", headers=auth)
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1
    _, other = new_project_key(client, "other")
    assert client.get("/v1/datasets", headers=other).status_code == 200
