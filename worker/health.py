"""The sweep loop's heartbeat file, and `python -m worker --check`, which reads it."""

import json
import os
import socket
import time
from pathlib import Path

from service.settings import Settings


def heartbeat_path(settings: Settings) -> Path:
    """One file per host (a container, under compose), in the worker's data directory."""
    return settings.data_dir / "worker" / f"{socket.gethostname()}.heartbeat"


def beat(settings: Settings, role: str) -> None:
    """Record that the sweep loop is alive and what it does: leader, standby, waiting_for_store."""
    path = heartbeat_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.{os.getpid()}")
    fresh.write_text(json.dumps({"pid": os.getpid(), "at": time.time(), "role": role}))
    fresh.replace(path)


def read(settings: Settings) -> dict[str, object] | None:
    try:
        return dict(json.loads(heartbeat_path(settings).read_text()))
    except (OSError, ValueError):
        return None


def problem(settings: Settings) -> str | None:
    """Why the worker is unhealthy, or None: the sweep loop must have beaten lately and live."""
    last = read(settings)
    if last is None:
        return f"no sweep heartbeat at {heartbeat_path(settings)}"
    age = time.time() - float(last["at"])  # type: ignore[arg-type]
    if age > settings.sweeps_stale_seconds:
        return f"the sweeps last beat {age:.0f} s ago (pid {last['pid']}, {last['role']})"
    if not is_alive(int(last["pid"])):  # type: ignore[call-overload]
        return f"the sweep process {last['pid']} is gone"
    return None


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
