"""POST /v1/datasets of a big file against `dd` on the same disk, and the API's peak memory.

Writes a chat JSONL file of --mb MB into a scratch folder, copies it once with
`dd if=FILE of=OUT bs=1M conv=fsync` (the disk's floor), then uploads it to the service (its own
Redis, one uvicorn process, data dir in the same folder) through a streamed multipart body,
sampling the API process's RSS with psutil every 20 ms. Goals: upload throughput >= 50% of dd's,
peak RSS < 200 MB. Results go to bench/results/upload.json.

    uv run python -m bench.upload_bench            # 1 GB
    uv run python -m bench.upload_bench --mb 100   # a quick check
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import psutil

from bench.api_bench import ADMIN_KEY, start_app, stop
from devtools import redis_server
from service.context import build_context
from service.projects import service as projects
from service.projects.models import KeyCreate, ProjectCreate
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "upload.json"
BOUNDARY = "ftm-upload-bench"
LINE = json.dumps({"messages": [{"role": "system", "content": "Classify the reflection."},
                                {"role": "user", "content": "I learnt a lot from this. " * 8},
                                {"role": "assistant", "content": "Simple Reflection"}]}) + "\n"


def write_file(path: Path, megabytes: int) -> int:
    block = (LINE * (2**20 // len(LINE) + 1)).encode()[:2**20]
    block = block[:block.rindex(b"\n") + 1]
    with open(path, "wb") as out:
        while out.tell() < megabytes * 2**20:
            out.write(block)
    return path.stat().st_size


def dd_seconds(source: Path, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["dd", f"if={source}", f"of={target}", "bs=1M", "conv=fsync"], check=True,
                   capture_output=True)
    took = time.perf_counter() - started
    target.unlink()
    return took


def project_key(redis_url: str, folder: Path) -> str:
    settings = Settings(redis_url=redis_url, data_dir=folder / "data",
                        admin_key=ADMIN_KEY)  # type: ignore[arg-type]
    ctx = build_context(settings)
    project = projects.create_project(ctx, ProjectCreate(name="upload-bench"))
    key = projects.create_key(ctx, project.id, KeyCreate()).key
    ctx.redis.close()
    return key


def multipart(path: Path) -> tuple[int, Iterator[bytes]]:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{path.name}\"\r\nContent-Type: application/jsonl\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        with open(path, "rb") as file:
            while chunk := file.read(2**20):
                yield chunk
        yield tail

    return len(head) + path.stat().st_size + len(tail), chunks()


class PeakRss:
    """The highest RSS of a process (and its children), sampled from a thread."""

    def __init__(self, pid: int) -> None:
        self.process, self.peak, self.done = psutil.Process(pid), 0, threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.done.wait(0.02):
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()


def upload(url: str, key: str, path: Path, api_pid: int) -> dict[str, Any]:
    length, body = multipart(path)
    headers = {"Authorization": f"Bearer {key}", "Content-Length": str(length),
               "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    with PeakRss(api_pid) as rss:
        started = time.perf_counter()
        response = httpx.post(f"{url}/v1/datasets", headers=headers, content=body, timeout=600)
        took = time.perf_counter() - started
    response.raise_for_status()
    return {"seconds": round(took, 2), "status": response.status_code,
            "stored_bytes": response.json()["bytes"], "peak_rss_mb": round(rss.peak / 2**20, 1)}


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    source = folder / "big.jsonl"
    size = write_file(source, args.mb)
    dd = dd_seconds(source, folder / "dd.out")
    port = redis_server.free_port()
    server = redis_server.start(port, folder / "redis")
    redis_url = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "FTM_REDIS_URL": redis_url, "FTM_DATA_DIR": str(folder / "data"),
           "FTM_ADMIN_KEY": ADMIN_KEY, "FTM_LOG_LEVEL": "INFO",
           "FTM_MAX_UPLOAD_BYTES": str(size + 2**20)}
    try:
        key = project_key(redis_url, folder)
        api, url = start_app("service", 1, env, folder)
        try:
            idle_rss = psutil.Process(api.pid).memory_info().rss
            sent = upload(url, key, source, api.pid)
        finally:
            stop(api)
    finally:
        server.terminate()
        server.wait(10)
    dd_mb_s, up_mb_s = size / 2**20 / dd, size / 2**20 / sent["seconds"]
    return {"bytes": size, "dd": {"seconds": round(dd, 2), "mb_per_s": round(dd_mb_s, 1)},
            "upload": {**sent, "mb_per_s": round(up_mb_s, 1),
                       "idle_rss_mb": round(idle_rss / 2**20, 1)},
            "upload_over_dd": round(up_mb_s / dd_mb_s, 3),
            "goals_met": up_mb_s >= 0.5 * dd_mb_s and sent["peak_rss_mb"] < 200,
            "cpus": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "at": int(time.time())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--dir", type=Path, default=None,
                        help="scratch folder on the disk to measure (default: the system temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftm-upload-bench-", dir=args.dir) as folder:
        result = measure(args, Path(folder))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.exit(0)


if __name__ == "__main__":
    main()
