"""`make run`: Redis (if none answers), the emulator (if no OPENAI_API_KEY), the API and a worker.

Each child runs in its own session, so Ctrl-C in the terminal reaches only this process, which
then stops the children one at a time, newest first: the worker and the API before the emulator,
Redis last. A child that fails to start stops the others; one that exits later is started again,
after a pause that doubles while it keeps exiting.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import httpx

from devtools import redis_server

ROOT = Path(__file__).resolve().parent.parent
Process = subprocess.Popen[Any]


def remembered_secret(path: Path, make: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.write_text(make + "\n")
    path.chmod(0o600)
    return make


def wait_for(url: str, process: Process, name: str) -> None:
    deadline = time.monotonic() + 120
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


def start_redis(url: str, data_dir: Path) -> Process:
    """A Redis-protocol server with AOF on url's port, in its own session. Every write is on
    disk before it is acknowledged (appendfsync always): a local server has the disk to itself."""
    port = urlparse(url).port or 6379
    args = [redis_server.server_binary(), "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "yes", "--appendfsync", "always",
            "--dir", str(data_dir / "redis")]
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    with open(data_dir / "redis.log", "ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + 15
    while not redis_server.answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            sys.exit(f"{args[0]} did not start on port {port}; see {data_dir / 'redis.log'}")
        time.sleep(0.05)
    return process


def start_emulator(env: dict[str, str], api: str, port: int) -> Process:
    """The emulator on port (the same one when started again); with OPENAI_WEBHOOK_SECRET it
    sends webhooks."""
    args = [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port),
            "--speed", env.get("FTM_EMULATOR_SPEED", "10")]
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("LISTENING "):
        stop(process)
        sys.exit(f"the emulator did not start: {line}")
    # Whatever it prints later goes on to our output, so its pipe never fills up.
    threading.Thread(target=copy_lines, args=(process.stdout,), daemon=True).start()
    url = line.removeprefix("LISTENING ")
    if env.get("OPENAI_WEBHOOK_SECRET"):  # set here rather than on its command line
        wait_for(f"{url}/__emulator/health", process, "the emulator")
        answer = httpx.post(f"{url}/__emulator/config", timeout=10, json={
            "webhook_url": f"{api}/v1/providers/openai/webhook",
            "webhook_secret": env["OPENAI_WEBHOOK_SECRET"]})
        if answer.is_error:
            stop(process)
            sys.exit(f"the emulator refused OPENAI_WEBHOOK_SECRET: {answer.text}")
    return process


def sync_as_fast_as_the_emulator(env: dict[str, str]) -> None:
    """Emulated jobs run FTM_EMULATOR_SPEED times faster; so do their syncs, unless set."""
    from service.settings import Settings

    speed = float(env.get("FTM_EMULATOR_SPEED", "10"))
    for name in ("sync_interval_queued_seconds", "sync_interval_running_seconds"):
        default = Settings.model_fields[name].default
        env.setdefault(f"FTM_{name.upper()}", str(max(1.0, default / speed)))
    env.setdefault("FTM_SYNC_SWEEP_SECONDS", "1")


def copy_lines(source: IO[str]) -> None:
    for line in source:
        sys.stdout.write(line)
        sys.stdout.flush()


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


def stop(process: Process, timeout: float = 10) -> None:
    """Terminate the process, kill it after timeout, then whatever it left in its session."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # e.g. the worker's scheduler and cron processes, should it have died first
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def stop_all(children: dict[str, Process]) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
    for child in reversed(children.values()):
        stop(child)


def interrupted(signum: int, frame: object) -> None:
    raise SystemExit(0)


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
    children: dict[str, Process] = {}  # in start order; a child started again keeps its place
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)
    try:
        run(env, host, port, data_dir, redis_url, children)
    finally:
        stop_all(children)


def run(env: dict[str, str], host: str, port: str, data_dir: Path, redis_url: str,
        children: dict[str, Process]) -> None:
    starters: dict[str, Callable[[], Process]] = {}
    if not redis_server.answers(redis_url):
        print(f"starting a Redis-protocol server on port {urlparse(redis_url).port or 6379}",
              flush=True)
        starters["Redis"] = lambda: start_redis(redis_url, data_dir)
        children["Redis"] = starters["Redis"]()
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    if not env.get("OPENAI_API_KEY"):
        emulator_port = redis_server.free_port()
        starters["the emulator"] = lambda: start_emulator(env, base, emulator_port)
        children["the emulator"] = starters["the emulator"]()
        url = f"http://127.0.0.1:{emulator_port}"
        sync_as_fast_as_the_emulator(env)
        env["OPENAI_BASE_URL"], env["OPENAI_API_KEY"] = f"{url}/v1", "sk-emulator-local"
        print(f"no OPENAI_API_KEY: using the built-in OpenAI emulator at {url}/v1", flush=True)
    os.environ.update(env)
    key = default_key(data_dir)
    worker_log = data_dir / "worker.log"
    starters["the API"] = lambda: subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.api.app:create_app", "--factory",
         "--host", host, "--port", port, "--no-access-log"],
        cwd=ROOT, env=env, start_new_session=True)
    starters["the worker"] = lambda: start_worker(env, worker_log)
    for name in ("the API", "the worker"):
        children[name] = starters[name]()
        print(f"{name} started (pid {children[name].pid})", flush=True)
    wait_for(f"{base}/healthz", children["the API"], "the API")
    print(f"\nfinetune-manager is running.\nAPI: {base}/v1\nConsole: {base}/console\n"
          f"Docs: {base}/docs\nWorker log: {worker_log}\nAPI key: {key}\n"
          f"CLI, in another shell: export PATH=\"{Path(sys.executable).parent}:$PATH\" "
          f"FTM_URL={base}; ftm --help\n", flush=True)
    supervise(children, starters)


def start_worker(env: dict[str, str], worker_log: Path) -> Process:
    with open(worker_log, "ab") as log:  # RQ logs every periodic sweep; keep the terminal readable
        return subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def supervise(children: dict[str, Process], starters: dict[str, Callable[[], Process]]) -> None:
    """Start again any child that exits, after a pause: 1 s, doubling while it keeps exiting
    within a minute of its start, up to 30 s."""
    started = {name: time.monotonic() for name in children}
    failures = dict.fromkeys(children, 0)
    while True:
        time.sleep(0.5)
        for name, child in children.items():
            if child.poll() is None:
                continue
            stop(child)  # whatever it left behind in its session
            quick = time.monotonic() - started[name] < 60
            failures[name] = failures[name] + 1 if quick else 1
            pause = min(30, 2 ** (failures[name] - 1))
            print(f"{name} exited with code {child.returncode}; starting it again in {pause} s",
                  flush=True)
            time.sleep(pause)
            children[name] = starters[name]()
            started[name] = time.monotonic()
            print(f"{name} started (pid {children[name].pid})", flush=True)


if __name__ == "__main__":
    main()
