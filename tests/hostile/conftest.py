"""Hostile clients: each attack answers a precise 4xx problem+json, stores nothing half-way, and
leaves the process serving (a follow-up request succeeds)."""

from collections.abc import Callable

import pytest

from tests.support.uploads import service_keys, stored_files


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"rate_limit_per_minute": 100_000}


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
