"""Redis stopped and started again under a running API: every /v1 route answers 503
store_unavailable with Retry-After meanwhile, /readyz names Redis, and all recovers by itself."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factories import chat_lines, upload, wait_until
from tests.support.api import new_project_key
from tests.support.env import ADMIN_KEY, make_settings
from tests.support.redis_servers import OwnRedis

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def outage_client(own_redis: OwnRedis, tmp_path: Path) -> Iterator[TestClient]:
    from service.api.app import create_app

    settings = make_settings(own_redis.url, tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        yield client


def calls(client: TestClient, auth: dict[str, str], dataset_id: str) -> dict[str, object]:
    upload_body = {"files": {"file": ("d.jsonl", chat_lines(3).encode())}}
    return {
        "list datasets": client.get("/v1/datasets", headers=auth),
        "get dataset": client.get(f"/v1/datasets/{dataset_id}", headers=auth),
        "upload": client.post("/v1/datasets", headers=auth, **upload_body),
        "create job": client.post("/v1/jobs", headers={**auth, "Idempotency-Key": "k1"},
                                  json={"model": "gpt-4o-mini-2024-07-18",
                                        "training_dataset": dataset_id}),
        "list jobs": client.get("/v1/jobs", headers=auth),
        "webhooks": client.post("/v1/webhooks", headers=auth, json={
            "url": "https://hooks.example.com/x", "events": ["job.succeeded"]}),
        "admin": client.post("/v1/admin/projects", headers=ADMIN, json={"name": "q"}),
        "wrong key": client.get("/v1/jobs", headers={"Authorization": "Bearer ftm_wrong_0123"}),
    }


def test_routes_answer_503_while_redis_is_down_and_recover(own_redis, outage_client):
    client = outage_client
    _, auth = new_project_key(client)
    dataset_id = upload(client, auth, chat_lines(3)).json()["id"]
    assert client.get("/readyz").status_code == 200

    own_redis.stop()
    for name, answer in calls(client, auth, dataset_id).items():
        assert answer.status_code == 503, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", name
        assert answer.json()["code"] == "store_unavailable", name
        assert int(answer.headers["Retry-After"]) > 0, name
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "redis" in ready.json()["detail"]

    own_redis.start()
    wait_until(lambda: client.get("/readyz").status_code == 200)
    assert client.get(f"/v1/datasets/{dataset_id}", headers=auth).status_code == 200
    after = calls(client, auth, dataset_id)
    assert {name: answer.status_code for name, answer in after.items()} == {
        "list datasets": 200, "get dataset": 200, "upload": 201, "create job": 409,
        "list jobs": 200, "webhooks": 201, "admin": 201, "wrong key": 401}
