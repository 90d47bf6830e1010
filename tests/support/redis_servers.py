"""Redis-protocol servers of the tests' own (redis-server or Valkey), on free ports."""

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devtools import redis_server


def server_choice() -> str:
    """FTM_TEST_REDIS: auto (redis-server if installed, else Valkey), redis, valkey, or other:
    the one auto does not pick, for the smoke run that keeps both servers supported."""
    prefer = os.environ.get("FTM_TEST_REDIS", "auto")
    if prefer != "other":
        return prefer
    if not shutil.which("redis-server"):
        pytest.skip("FTM_TEST_REDIS=other: Valkey is the only server installed")
    return "valkey"


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
