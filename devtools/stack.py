"""A whole stack on free ports, for contract tests and fuzzing: Redis, the emulator, the API
(uvicorn) and a worker, each its own process; a project key to call it with."""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools import redis_server
from devtools.run import ROOT, Process, start_redis, stop, wait_for


@dataclass(frozen=True)
class Stack:
    base: str  # the API's root URL
    key: str  # a project's API key
    admin_key: str
    emulator: str  # the emulator's root URL


def start_emulator(env: dict[str, str], speed: str) -> tuple[Process, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0", "--speed",
         speed], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, start_new_session=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("LISTENING "):
        stop(process)
        raise RuntimeError(f"the emulator did not start: {line}")
    return process, line.removeprefix("LISTENING ")


def new_key(env: dict[str, str]) -> str:
    """A project and a key, made through the admin API."""
    import httpx

    base, admin = env["FTM_BASE"], {"Authorization": f"Bearer {env['FTM_ADMIN_KEY']}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:
        project = client.post("/v1/admin/projects", json={"name": "contract"}).json()
        key = client.post(f"/v1/admin/projects/{project['id']}/keys", json={}).json()
    return str(key["key"])


@contextmanager
def live_stack(data_dir: Path, **settings: str) -> Iterator[Stack]:
    """Everything running until the block ends; settings are FTM_* values (names without it)."""
    env = dict(os.environ)
    redis_url = f"redis://127.0.0.1:{redis_server.free_port()}/0"
    port = redis_server.free_port()
    env.update({"FTM_REDIS_URL": redis_url, "FTM_DATA_DIR": str(data_dir),
                "FTM_ADMIN_KEY": "adm_" + secrets.token_urlsafe(24), "FTM_LOG_LEVEL": "WARNING",
                "FTM_BASE": f"http://127.0.0.1:{port}",
                **{f"FTM_{name.upper()}": value for name, value in settings.items()}})
    children: list[Process] = []
    try:
        children.append(start_redis(redis_url, data_dir))
        emulator, emulator_url = start_emulator(env, env.get("FTM_EMULATOR_SPEED", "50"))
        children.append(emulator)
        env.update({"OPENAI_BASE_URL": f"{emulator_url}/v1", "OPENAI_API_KEY": "sk-emulator-ct"})
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        api = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.api.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
            cwd=ROOT, env=env, start_new_session=True, **quiet)  # type: ignore[call-overload]
        children.append(api)
        children.append(subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env,
                                         start_new_session=True, **quiet))  # type: ignore[call-overload]
        wait_for(f"{env['FTM_BASE']}/healthz", api, "the API")
        yield Stack(env["FTM_BASE"], new_key(env), env["FTM_ADMIN_KEY"], emulator_url)
    finally:
        for child in reversed(children):
            stop(child)
