"""Real parts for every test: a Redis-protocol server on a free port and the emulator over HTTP."""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import redis

from devtools import redis_server
from tests.support.api import new_project_key
from tests.support.emulator import running_emulator
from tests.support.env import ADMIN_KEY, make_settings
from tests.support.redis_servers import OwnRedis, server_choice
from tests.support.servers import serving

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from service.context import Context
    from service.settings import Settings

pytest_plugins = ["tests.support.fixtures"]



def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**overrides): change the service's settings")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = redis_server.free_port()
    server = redis_server.start(port, tmp_path_factory.mktemp("redis"), prefer=server_choice())
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(5)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def emulator_base() -> Iterator[str]:
    """The emulator's root URL (http://127.0.0.1:PORT); the OpenAI API is under /v1."""
    with running_emulator("--speed", "50") as url:
        yield url


@pytest.fixture
def emulator(emulator_base: str) -> Iterator[str]:
    """A freshly reset emulator; yields its OpenAI base URL (…/v1)."""
    httpx.post(f"{emulator_base}/__emulator/reset", timeout=30).raise_for_status()
    yield f"{emulator_base}/v1"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change the service's settings."""
    return {}


@pytest.fixture
def settings(redis_client: redis.Redis, redis_url: str, tmp_path: Path,
             settings_overrides: dict[str, object]) -> "Settings":
    overrides = {"redis_url": redis_url, **settings_overrides}
    return make_settings(overrides.pop("redis_url"), tmp_path / "data", **overrides)


@pytest.fixture
def ctx(settings: "Settings") -> Iterator["Context"]:
    from service.context import build_context

    context = build_context(settings)
    yield context
    context.redis.close()


@pytest.fixture
def client(settings: "Settings") -> Iterator["TestClient"]:
    from fastapi.testclient import TestClient

    from service.api.app import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def auth(client: "TestClient") -> dict[str, str]:
    return new_project_key(client)[1]


@pytest.fixture
def live_url(settings: "Settings") -> Iterator[str]:
    """The service on a real uvicorn in a thread (for SSE, the SDK and README examples)."""
    from service.api.app import create_app

    with serving(create_app(settings)) as url:
        yield url
