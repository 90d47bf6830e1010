"""Real worker processes, started and stopped whole."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from service.settings import Settings
from tests.conftest import EMULATOR_KEY, ROOT


def worker_env(settings: Settings, emulator: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "FTM_REDIS_URL": settings.redis_url,
            "FTM_DATA_DIR": str(settings.data_dir),
            "FTM_ADMIN_KEY": settings.admin_key.get_secret_value(), "OPENAI_BASE_URL": emulator,
            "OPENAI_API_KEY": EMULATOR_KEY, "FTM_LOG_LEVEL": "INFO",
            "FTM_OPENAI_RETRY_BASE_SECONDS": "0.05", "FTM_SYNC_SWEEP_SECONDS": "1",
            "FTM_SYNC_INTERVAL_RUNNING_SECONDS": "0.3",
            "FTM_SYNC_INTERVAL_QUEUED_SECONDS": "0.3", **extra}


def start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`python -m worker` in its own session, so a test can kill it with all it started."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "worker", *args], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def check_worker(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker", "--check"], cwd=ROOT, env=env, check=False,
                          capture_output=True, text=True, timeout=60)
