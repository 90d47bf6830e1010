"""Fixtures more than one test area uses; tests/conftest.py registers this module as a plugin."""

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.redis_server import free_port
from tests.support.env import ROOT
from tests.support.processes import Api
from tests.support.uploads import service_keys, stored_files
from tests.support.webhooks import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free local port, answering 204."""
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def untouched(client, auth, settings, redis_client) -> Callable[[], None]:
    """Call after a refused upload: asserts nothing of it remains anywhere."""
    client.get("/v1/datasets", headers=auth)  # the key's first request leaves what it leaves
    before = service_keys(redis_client)

    def check() -> None:
        assert client.get("/v1/datasets", headers=auth).json()["data"] == []
        assert stored_files(settings) == []
        assert service_keys(redis_client) - before == set()
        assert not any(b"ds_" in key or b"dataset" in key for key in service_keys(redis_client))

    return check


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def apis(settings) -> Iterator[list[Api]]:
    """Append each Api a test starts; they are stopped after it."""
    started: list[Api] = []
    yield started
    for api in started:
        api.stop()


@pytest.fixture(scope="session")
def wheel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel as `uv build` makes it, built once per session."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("building the wheel needs uv")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([uv, "build", "--wheel", "--quiet", "-o", str(out)], cwd=ROOT, check=True,
                   timeout=300)
    return next(out.glob("*.whl"))
