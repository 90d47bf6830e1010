"""An API killed mid-upload leaves a partial file; the worker's sweep removes it once it has
been idle longer than the longest allowed upload."""

import signal
import socket
import subprocess
import sys

import httpx

from devtools.redis_server import free_port
from tests.factories import wait_until
from tests.support.api import new_project_key
from tests.support.env import ROOT
from tests.support.processes import reachable
from tests.support.workers import start_worker, stop_worker, syncing_worker_env


def partial_files(settings):
    return list((settings.data_dir / "files").rglob(".part-*"))


def start_upload(port: int, key: str) -> socket.socket:
    """Send the headers and the first part of a large multipart upload; never the rest."""
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.jsonl\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall((f"POST /v1/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Authorization: Bearer {key}\r\nContent-Length: {100 * 2**20}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode())
    sock.sendall(head + b'{"messages": []}\n' * 20000)
    return sock


def test_a_partial_upload_left_by_a_killed_api_is_removed(ctx, settings, emulator, tmp_path):
    env = syncing_worker_env(settings, emulator, FTM_UPLOAD_MAX_SECONDS="1")
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "service.api.app:create_app",
                            "--factory", "--port", str(port), "--log-level", "warning"],
                           cwd=ROOT, env=env)
    try:
        wait_until(lambda: reachable(f"http://127.0.0.1:{port}/healthz"), timeout=60, every=0.2)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            key = new_project_key(http)[1]["Authorization"].removeprefix("Bearer ")
        sock = start_upload(port, key)
        [part] = wait_until(lambda: partial_files(settings), timeout=30)
        wait_until(lambda: part.stat().st_size > 0, timeout=30)
        api.send_signal(signal.SIGKILL)
        api.wait(10)
        sock.close()
    finally:
        if api.poll() is None:
            api.kill()
    assert part.exists()  # what the killed API left behind
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: not part.exists(), timeout=60, every=0.2)
        assert worker.poll() is None
    finally:
        stop_worker(worker)
