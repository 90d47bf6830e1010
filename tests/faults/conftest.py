"""Faults on real processes: a Redis of the test's own (so killing it leaves the other tests'
server alone) and the API on a real uvicorn, both on free ports."""

import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from devtools import redis_server
from tests.conftest import server_choice
from tests.factories import wait_until


class OwnRedis:
    """A Redis-protocol server with AOF that a test may kill and start again on the same port
    and directory."""

    def __init__(self, directory: Path, appendfsync: str = "always") -> None:
        self.port, self.directory, self.appendfsync = redis_server.free_port(), directory, appendfsync
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = self.start()

    def start(self) -> subprocess.Popen[bytes]:
        self.process = redis_server.start(self.port, self.directory, prefer=server_choice(),
                                          appendonly=True, appendfsync=self.appendfsync)
        return self.process

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    store = OwnRedis(tmp_path / "redis")
    yield store
    store.stop()


def serve_in_thread(app: object) -> tuple[uvicorn.Server, threading.Thread, str]:
    """The app on a real uvicorn in a thread; answer the server, its thread and its URL."""
    port = redis_server.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20)
    return server, thread, f"http://127.0.0.1:{port}"
