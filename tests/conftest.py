"""Real parts for every test: a Redis-protocol server on a free port and the emulator over HTTP."""

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import redis

from devtools import redis_server

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from service.context import Context
    from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PUBLIC_DATA = SHARED_DATA / "public"
if (SHARED_DATA / "tiktoken_cache").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED_DATA / "tiktoken_cache"))

EMULATOR_KEY = "sk-emulator-test-0123456789"


def server_choice() -> str:
    """FTM_TEST_REDIS: auto (redis-server if installed, else Valkey), redis, valkey, or other:
    the one auto does not pick, for the smoke run that keeps both servers supported."""
    prefer = os.environ.get("FTM_TEST_REDIS", "auto")
    if prefer != "other":
        return prefer
    if not shutil.which("redis-server"):
        pytest.skip("FTM_TEST_REDIS=other: Valkey is the only server installed")
    return "valkey"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = redis_server.free_port()
    server = redis_server.start(port, tmp_path_factory.mktemp("redis"), prefer=server_choice())
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(5)


@dataclass
class OwnRedis:
    """A Redis-protocol server of one test's own, AOF on with every write flushed before it is
    acknowledged: the test may stop, kill and start it again on the same port and directory,
    leaving the other tests' server alone."""

    folder: Path
    port: int = field(default_factory=redis_server.free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = redis_server.start(self.port, self.folder, prefer=server_choice(),
                                          appendonly=True, appendfsync="always",
                                          log=self.folder.parent / "redis.log")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


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


def start_emulator(*extra: str) -> tuple[subprocess.Popen[str], str]:
    """Run `python -m emulator` on a free port; answer the process and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("LISTENING "):
        process.kill()
        raise RuntimeError(f"emulator did not start: {first}{process.stdout.read()}")
    return process, first.removeprefix("LISTENING ")


@pytest.fixture(scope="session")
def emulator_base() -> Iterator[str]:
    """The emulator's root URL (http://127.0.0.1:PORT); the OpenAI API is under /v1."""
    process, url = start_emulator("--speed", "50")
    yield url
    process.terminate()
    process.wait(5)


@pytest.fixture
def emulator(emulator_base: str) -> Iterator[str]:
    """A freshly reset emulator; yields its OpenAI base URL (…/v1)."""
    httpx.post(f"{emulator_base}/__emulator/reset", timeout=30).raise_for_status()
    yield f"{emulator_base}/v1"


ADMIN_KEY = "test-admin-key-0123456789"


def make_settings(redis_url: str, data_dir: Path, **overrides: object) -> "Settings":
    from service.settings import Settings

    values: dict[str, object] = {"redis_url": redis_url, "data_dir": data_dir,
                                 "admin_key": ADMIN_KEY, "log_level": "WARNING"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


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


def new_project_key(client: "TestClient", name: str = "p") -> tuple[str, dict[str, str]]:
    """Create a project and a key through the admin API; answer its id and auth headers."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    project = client.post("/v1/admin/projects", json={"name": name}, headers=admin).json()
    key = client.post(f"/v1/admin/projects/{project['id']}/keys", json={}, headers=admin).json()
    return project["id"], {"Authorization": f"Bearer {key['key']}"}


@pytest.fixture
def auth(client: "TestClient") -> dict[str, str]:
    return new_project_key(client)[1]


@pytest.fixture
def live_url(settings: "Settings") -> Iterator[str]:
    """The service on a real uvicorn in a thread (for SSE, the SDK and README examples)."""
    import threading

    import uvicorn

    from service.api.app import create_app

    port = redis_server.free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    from tests.factories import wait_until

    wait_until(lambda: server.started, timeout=20)
    yield url
    server.should_exit = True
    thread.join(10)
