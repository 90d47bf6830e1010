"""The OpenAI emulator: its process, and its admin routes under /__emulator (state, faults,
configuration, reset). Helpers take the emulator's OpenAI base URL (…/v1) or its root."""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.support.env import ROOT


def start_emulator(*extra: str) -> tuple[subprocess.Popen[str], str]:
    """Run `python -m emulator` on a free port; answer the process and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("LISTENING "):
        process.kill()
        raise RuntimeError(f"emulator did not start: {first}{process.stdout.read()}")
    return process, first.removeprefix("LISTENING ")


@contextmanager
def running_emulator(*extra: str) -> Iterator[str]:
    """`python -m emulator` with these arguments while the block runs; yields its base URL."""
    process, url = start_emulator(*extra)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(5)


def admin_url(emulator: str, path: str = "") -> str:
    return emulator.removesuffix("/v1") + "/__emulator" + (f"/{path}" if path else "")


def admin(emulator: str, path: str, body: dict[str, Any] | None = None) -> None:
    """POST to an admin route (faults, config, reset, jobs/…); fail on an error status."""
    httpx.post(admin_url(emulator, path), json=body, timeout=30).raise_for_status()


def read(emulator: str, route: str, /, **params: Any) -> Any:
    """GET an admin route (stats, requests, jobs, webhooks, faults) as JSON."""
    answer = httpx.get(admin_url(emulator, route), params=params, timeout=30)
    answer.raise_for_status()
    return answer.json()


def stats(emulator: str) -> dict[str, Any]:
    return dict(read(emulator, "stats"))


def set_faults(emulator: str, **faults: Any) -> None:
    admin(emulator, "faults", faults)


def requests_log(emulator: str, **params: Any) -> list[dict[str, Any]]:
    """The requests the emulator received, as its /requests route lists them."""
    return list(read(emulator, "requests", **params)["data"])


def reset(emulator: str) -> None:
    admin(emulator, "reset")
