"""Hostile callers: wrong keys throttled per client address; control characters refused in
every name a user gives."""

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.factories import ready_dataset, upload
from tests.support.api import problem
from tests.support.env import ADMIN_KEY
from tests.support.uploads import CSV, body, part, post_raw

WRONG = {"Authorization": "Bearer ftm_wrong_key_0123456789"}
WRONG_ADMIN = {"Authorization": "Bearer not-the-admin-key-0123"}


@pytest.mark.parametrize("settings_overrides", [{"auth_failures_per_window": 5,
                                                 "auth_failure_window_seconds": 120}])
def test_wrong_keys_are_throttled_per_client_address(client, auth, settings_overrides):
    assert client.get("/v1/jobs").status_code == 401  # no key at all is not a guess
    answers = [client.get("/v1/jobs", headers=WRONG) if n % 2 else
               client.post("/v1/admin/projects", headers=WRONG_ADMIN, json={"name": "x"})
               for n in range(5)]
    assert [a.status_code for a in answers] == [401] * 5
    for headers in (WRONG, auth):  # once over, even the right key waits: no guessing on
        throttled = problem(client.get("/v1/jobs", headers=headers), 429,
                            "too_many_failed_attempts")
        assert 0 < int(client.get("/v1/jobs", headers=headers).headers["Retry-After"]) <= 120
        assert "failed authentication" in throttled["detail"]
    admin = client.post("/v1/admin/projects", json={"name": "x"},
                        headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert admin.status_code == 429
    with TestClient(client.app, client=("192.0.2.7", 4000)) as elsewhere:
        assert elsewhere.get("/v1/jobs", headers=auth).status_code == 200


CONTROL = ["a\x00b", "line\r\nbreak", "tab\there", "bell\x07", "del\x7f", "c1\x85x", "sep\u2028x"]


@pytest.mark.parametrize("name", CONTROL)
def test_control_characters_are_refused_in_names(client, auth, admin_headers, name):
    answer = upload(client, auth, CSV, filename="t.csv", name=name)
    assert problem(answer, 422, "invalid_name")["errors"][0]["field"] == "body.name"
    project = client.post("/v1/admin/projects", headers=admin_headers, json={"name": name})
    assert problem(project, 422, "validation_error")["errors"][0]["field"] == "body.name"
    hook = client.post("/v1/webhooks", headers=auth, json={
        "url": "https://hooks.example.com/x", "events": ["job.failed"], "description": name})
    assert problem(hook, 422, "validation_error")["errors"][0]["field"] == "body.description"
    assert client.get("/v1/datasets", headers=auth).json()["data"] == []


def test_control_characters_are_refused_in_key_and_converted_names(client, ctx, auth,
                                                                   admin_headers):
    project = client.post("/v1/admin/projects", headers=admin_headers, json={"name": "p"}).json()
    key = client.post(f"/v1/admin/projects/{project['id']}/keys", headers=admin_headers,
                      json={"name": "ci\x00"})
    assert problem(key, 422, "validation_error")["errors"][0]["field"] == "body.name"
    table = ready_dataset(client, ctx, auth, CSV.decode(), filename="t.csv")
    converted = client.post(f"/v1/datasets/{table['id']}/convert", headers=auth, json={
        "target": "chat", "user": "{prompt}", "assistant": "{completion}", "name": "x\r\ny"})
    assert problem(converted, 422, "validation_error")["errors"][0]["field"] == "body.name"


@pytest.mark.parametrize("disposition", [
    b'name="file"; filename="a\x01b.csv"',
    b"name=\"file\"; filename*=UTF-8''" + quote("evil\r\nname.csv").encode(),
    b"name=\"file\"; filename*=UTF-8''nul%00.csv"])
def test_control_characters_in_file_names_are_refused(client, auth, untouched,
                                                      disposition):
    answer = post_raw(client, auth, body(part(disposition, CSV)))
    assert problem(answer, 422, "invalid_name")["errors"][0]["field"] == "body.file"
    untouched()
