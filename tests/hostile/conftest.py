"""Hostile clients: each attack answers a precise 4xx problem+json, stores nothing half-way, and
leaves the process serving (a follow-up request succeeds)."""

from collections.abc import Callable

import pytest

from tests.api.test_dataset_bad_input import service_keys, stored_files


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"rate_limit_per_minute": 100_000}


def problem(response, status: int, code: str | None = None) -> dict:
    """The answer is a problem+json of that status (and code)."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    assert body["code"] and body["code"].replace("_", "").isalnum() and body["code"].islower()
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.fixture
def unharmed(client, auth, settings, redis_client) -> Callable[[], None]:
    """Call after an attack: nothing of it stored, and the service still answers."""
    client.get("/v1/datasets", headers=auth)
    before_keys, before_files = service_keys(redis_client), stored_files(settings)

    def check() -> None:
        assert client.get("/v1/datasets", headers=auth).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert service_keys(redis_client) - before_keys == set()
        assert stored_files(settings) == before_files

    return check
