"""The API as its own process (`uvicorn --factory`), so a test can kill it."""

import os
import signal
import subprocess
import sys

import httpx

from devtools.redis_server import free_port
from tests.factories import wait_until
from tests.support.env import ADMIN, ADMIN_KEY, ROOT


class Api:
    """The API as its own process, so a test can kill it."""

    def __init__(self, settings: object, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.api.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"], cwd=ROOT,
            env={**os.environ, "FTM_REDIS_URL": settings.redis_url,  # type: ignore[attr-defined]
                 "FTM_DATA_DIR": str(settings.data_dir),  # type: ignore[attr-defined]
                 "FTM_ADMIN_KEY": ADMIN_KEY, "FTM_LOG_LEVEL": "WARNING", **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, timeout=60, every=0.1)

    def answers(self) -> bool:
        assert self.process.poll() is None, "the API exited"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def new_key(api: Api) -> dict[str, str]:
    project = httpx.post(f"{api.url}/v1/admin/projects", headers=ADMIN, json={"name": "p"}).json()
    key = httpx.post(f"{api.url}/v1/admin/projects/{project['id']}/keys", headers=ADMIN,
                     json={}).json()
    return {"Authorization": f"Bearer {key['key']}"}


def reachable(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
