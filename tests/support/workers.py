"""Real worker processes: started and stopped whole, or run in a burst until a fault point
kills them."""

import json
import subprocess
import sys
from pathlib import Path

from devtools.run import stop
from service.context import Context
from service.settings import Settings
from service.store import keys
from tests.support.env import ROOT, worker_env


def syncing_worker_env(settings: Settings, emulator: str, **extra: str) -> dict[str, str]:
    """The environment of a long-running worker that also sweeps and syncs jobs, logging INFO."""
    return worker_env(settings, emulator, **{
        "FTM_LOG_LEVEL": "INFO", "FTM_OPENAI_RETRY_BASE_SECONDS": "0.05",
        "FTM_SYNC_SWEEP_SECONDS": "1", "FTM_SYNC_INTERVAL_RUNNING_SECONDS": "0.3",
        "FTM_SYNC_INTERVAL_QUEUED_SECONDS": "0.3", **extra})


def die_at(ctx: Context, env: dict[str, str], point: str) -> None:
    """Run `python -m worker --burst` with the fault point armed: it dies there (exiting 0)."""
    env = {**env, "FTM_FAULT_POINTS": json.dumps([point])}
    worker = subprocess.run([sys.executable, "-m", "worker", "--burst"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert ctx.redis.get(keys.fault_fired(point)) == b"1"  # the point was reached and died there


def start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`python -m worker` in its own session, so a test can kill it with all it started."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "worker", *args], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    stop(process, timeout=20)


def check_worker(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker", "--check"], cwd=ROOT, env=env,
                          check=False, capture_output=True, text=True, timeout=60)
