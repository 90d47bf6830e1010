"""GET /v1/jobs/{id} under 64 concurrent connections: the service against a bare FastAPI app.

Starts a Redis-protocol server, the service (auth, rate limiting, INFO logging to a file and
metrics all on) and bench/bare_app.py (the same single Redis read, nothing else), both under
uvicorn with the same settings, with 1 and then 2 server processes. A project, a key and one
finished job are written through the domain; then both apps are loaded in turn, `--rounds` times
each, by bench/loadgen.py (wrk when installed). Reported per process count: the median round of
each app, throughput ratio service/bare (goal >= 0.70), p99 ratio (goal < 2.0), and the servers'
CPU time per request (bare over service: the throughput ratio a quiet machine would show).
Results go to bench/results/api.json.

    uv run python -m bench.api_bench                       # 3 rounds of 10 s
    uv run python -m bench.api_bench --seconds 3 --rounds 1  # a quick check
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.loadgen import load
from devtools import redis_server
from devtools.run import stop, wait_for
from service import clock, ids
from service.context import build_context
from service.jobs.models import Job, JobStatus, SupervisedMethod
from service.projects import service as projects
from service.projects.models import KeyCreate, ProjectCreate
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "api.json"
ADMIN_KEY = "bench-admin-key-0123456789"
APPS = {"service": "service.api.app:create_app", "bare": "bench.bare_app:create_app"}


def seed(settings: Settings) -> tuple[str, str]:
    """A project's key and one succeeded job of it, written through the domain."""
    ctx = build_context(settings)
    project = projects.create_project(ctx, ProjectCreate(name="api-bench"))
    key = projects.create_key(ctx, project.id, KeyCreate())
    now = clock.now()
    job = Job(id=ids.new_id("job"), created_at=now, updated_at=now, project_id=project.id,
              status=JobStatus.succeeded, model="gpt-4o-mini-2024-07-18",
              training_dataset=ids.new_id("dataset"), method=SupervisedMethod(type="supervised"),
              fine_tuned_model="ft:gpt-4o-mini-2024-07-18:bench::abc123", finished_at=now,
              metadata={"team": "bench"})
    ctx.store.create(job, project.id)
    ctx.redis.close()
    return key.key, job.id


def start_app(name: str, processes: int, env: dict[str, str],
              logs: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = redis_server.free_port()
    with open(logs / f"{name}-{processes}.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", APPS[name], "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log", "--workers", str(processes)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/openapi.json", process, f"{name} (its log: {logs})")
    return process, url


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """CPU time of a server and its worker processes so far."""
    tree = psutil.Process(process.pid)
    total = 0.0
    for one in [tree, *tree.children(recursive=True)]:
        try:
            times = one.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def loaded(process: subprocess.Popen[bytes], url: str, headers: dict[str, str],
           args: argparse.Namespace) -> dict[str, Any]:
    """One round of load, with the server's CPU milliseconds per request: on a machine shared
    with other work, throughput moves with the neighbours; CPU per request much less."""
    before = cpu_seconds(process)
    found = load(url, headers, args.connections, args.seconds)
    used = cpu_seconds(process) - before
    return {**found, "server_cpu_ms_per_request": round(1000 * used / max(1, found["requests"]), 3)}


def compare(started: dict[str, tuple[subprocess.Popen[bytes], str]], path: str,
            headers: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """Both apps loaded in turn, rounds times; the median round of each and their ratios."""
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in started}
    for _, url in started.values():
        load(url + path, headers, args.connections, args.warmup)
    for _ in range(args.rounds):
        for name, (process, url) in started.items():
            rounds[name].append(loaded(process, url + path, headers, args))
            print(f"  {name}: {rounds[name][-1]}", flush=True)
    median = {name: {field: statistics.median(r[field] for r in runs)
                     for field in ("rps", "p50_ms", "p99_ms", "server_cpu_ms_per_request")}
              for name, runs in rounds.items()}
    for name, runs in rounds.items():
        median[name]["errors"] = sum(r["errors"] for r in runs)
    rps_ratio = median["service"]["rps"] / median["bare"]["rps"]
    p99_ratio = median["service"]["p99_ms"] / median["bare"]["p99_ms"]
    cpu_ratio = (median["bare"]["server_cpu_ms_per_request"]
                 / median["service"]["server_cpu_ms_per_request"])
    return {"median": median, "rounds": rounds, "rps_ratio": round(rps_ratio, 3),
            "p99_ratio": round(p99_ratio, 3), "cpu_efficiency_ratio": round(cpu_ratio, 3),
            "goals_met": rps_ratio >= 0.70 and p99_ratio < 2.0}


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    port = redis_server.free_port()
    server = redis_server.start(port, folder / "redis")
    redis_url = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "FTM_REDIS_URL": redis_url, "FTM_DATA_DIR": str(folder / "data"),
           "FTM_ADMIN_KEY": ADMIN_KEY, "FTM_LOG_LEVEL": "INFO",
           "FTM_RATE_LIMIT_PER_MINUTE": "100000000"}
    try:
        settings = Settings(redis_url=redis_url, data_dir=folder / "data",
                            admin_key=ADMIN_KEY)  # type: ignore[arg-type]
        secret, job_id = seed(settings)
        headers = {"Authorization": f"Bearer {secret}"}
        result: dict[str, Any] = {"connections": args.connections, "seconds": args.seconds,
                                  "rounds": args.rounds, "cpus": os.cpu_count(), "runs": {}}
        for processes in args.processes:
            print(f"{processes} server process(es)", flush=True)
            started = {name: start_app(name, processes, env, folder) for name in APPS}
            try:
                check = httpx.get(f"{started['service'][1]}/v1/jobs/{job_id}", headers=headers)
                check.raise_for_status()
                result["runs"][f"{processes}_process"] = compare(
                    started, f"/v1/jobs/{job_id}", headers, args)
            finally:
                for process, _ in started.values():
                    stop(process)
        result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        result["at"] = int(time.time())
        return result
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftm-api-bench-") as folder:
        result = measure(args, Path(folder))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for name, run in result["runs"].items():
        print(f"{name}: service {run['median']['service']} bare {run['median']['bare']} "
              f"rps ratio {run['rps_ratio']} p99 ratio {run['p99_ratio']} "
              f"cpu efficiency ratio {run['cpu_efficiency_ratio']}")


if __name__ == "__main__":
    main()
