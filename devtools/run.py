"""`make run`: Redis (if none answers), the emulator (if no OPENAI_API_KEY), the API and a worker."""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from devtools import redis_server

ROOT = Path(__file__).resolve().parent.parent


def remembered_secret(path: Path, make: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.write_text(make + "\n")
    path.chmod(0o600)
    return make


def wait_for(url: str, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"{name} did not answer at {url}")


def start_emulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    speed = env.get("FTM_EMULATOR_SPEED", "10")
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0", "--speed", speed],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("LISTENING "):
        sys.exit(f"the emulator did not start: {line}")
    return process, line.removeprefix("LISTENING ")


def default_key(data_dir: Path) -> str:
    """The default project's key: created on first start, reused after."""
    from service.context import build_context
    from service.errors import Unauthorized
    from service.projects import service as projects
    from service.projects.models import KeyCreate, ProjectCreate
    from service.settings import load_settings

    ctx = build_context(load_settings())
    path = data_dir / ".default_key"
    if path.exists():
        try:
            projects.authenticate(ctx, path.read_text().strip())
            return path.read_text().strip()
        except Unauthorized:
            pass
    project = projects.create_project(ctx, ProjectCreate(name="default"))
    key = projects.create_key(ctx, project.id, KeyCreate(name="make run")).key
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def main() -> None:
    env = dict(os.environ)
    host, port = env.setdefault("FTM_HOST", "127.0.0.1"), env.setdefault("FTM_PORT", "8000")
    data_dir = Path(env.setdefault("FTM_DATA_DIR", str(ROOT / "data"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env["FTM_DATA_DIR"] = str(data_dir)
    env.setdefault("FTM_ADMIN_KEY", remembered_secret(
        data_dir / ".admin_key", "adm_" + secrets.token_urlsafe(24)))
    redis_url = env.setdefault("FTM_REDIS_URL", "redis://127.0.0.1:6379/0")
    shared = ROOT.parent / "shared" / "data" / "tiktoken_cache"
    if shared.is_dir():
        env.setdefault("TIKTOKEN_CACHE_DIR", str(shared))
    children: list[subprocess.Popen] = []  # type: ignore[type-arg]

    def stop(*_: object) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if not redis_server.answers(redis_url):
        parsed = urlparse(redis_url)
        print(f"starting a Redis-protocol server on port {parsed.port or 6379}", flush=True)
        children.append(redis_server.start(parsed.port or 6379, data_dir / "redis",
                                           appendonly=True, log=data_dir / "redis.log"))
    if not env.get("OPENAI_API_KEY"):
        emulator, url = start_emulator(env)
        children.append(emulator)
        env["OPENAI_BASE_URL"], env["OPENAI_API_KEY"] = f"{url}/v1", "sk-emulator-local"
        print(f"no OPENAI_API_KEY: using the built-in OpenAI emulator at {url}/v1", flush=True)
    os.environ.update(env)
    key = default_key(data_dir)
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "service.api.app:create_app",
                            "--factory", "--host", host, "--port", port, "--no-access-log"],
                           cwd=ROOT, env=env)
    children.append(api)
    children.append(subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env))
    base = f"http://{host}:{port}"
    wait_for(f"{base}/healthz", api, "the API")
    print(f"\nfinetune-manager is running.\nAPI: {base}/v1\nConsole: {base}/console\n"
          f"Docs: {base}/docs\nAPI key: {key}\n", flush=True)
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    print("a process exited; stopping the others", flush=True)
    stop()


if __name__ == "__main__":
    main()
