"""Scale: many concurrently active fine-tuning jobs on the emulator, followed by 2 workers.

Starts its own Redis-protocol server, the emulator, the API (uvicorn) and `python -m worker`
processes; creates a project and key through the admin API, uploads one small chat dataset and
creates --jobs jobs over HTTP that all train on it (the service uploads it once), then waits until
every job has succeeded. Measured:
  provider requests per job  emulator requests from the first job created to the last success,
                             over the jobs; by route from the emulator's request log
  sync lag p50/p95           per job, when the service recorded a status (its status event; the
                             event id carries the milliseconds) minus when the emulator's job
                             entered it (/__emulator/jobs), for running and succeeded
  Redis memory per job       INFO used_memory with the jobs (just created; all succeeded) minus
                             before them, over the jobs
  status GET latency         GET /v1/jobs/{id} of one finished job, sampled from a thread all
                             through the run, against the same GET on the idle service just
                             before (the baseline)
Results go to bench/results/jobs.json.

    uv run python -m bench.jobs_bench                      # 1,000 jobs of ~110 s (speed 1)
    uv run python -m bench.jobs_bench --jobs 50 --speed 4  # a quick check
"""

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis

from bench.eval_bench import labelled_chat
from devtools import redis_server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "jobs.json"
SHARED_TIKTOKEN = ROOT.parent / "shared" / "data" / "tiktoken_cache"
MODEL = "gpt-4o-mini-2024-07-18"
ADMIN_KEY = "bench-admin-key-0123456789"
EMULATOR_KEY = "sk-emulator-bench-0123456789"
EXAMPLES = 20  # 5 epochs of batch 1: 100 steps, about 110 s a job at speed 1
TERMINAL = ("succeeded", "failed", "cancelled")
BY_STATUS = "ftm:jobs:by_status"  # the service's jobs-by-status gauge (service/store/keys.py)


class Processes:
    """The children this bench started; stop() ends them all, each with what it left behind."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes], bool]] = []  # own group?

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        with open(self.logs / f"{name}.log", "wb") as log:
            process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append((name, process, True))

    def adopt(self, name: str, process: subprocess.Popen[bytes]) -> None:
        self.started.append((name, process, False))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds each child and its finished children used so far."""
        used = {}
        for name, process, _ in self.started:
            try:
                times = psutil.Process(process.pid).cpu_times()
            except psutil.Error:
                continue
            used[name] = round(times.user + times.system + times.children_user
                               + times.children_system, 1)
        return used

    def stop(self) -> None:
        for _, process, own_group in reversed(self.started):
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if own_group:  # whatever it left behind: RQ work horses, the cron process
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)

    def tails(self, lines: int = 15) -> None:
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            if text:
                print(f"--- {path.name} (last {len(text)} lines)\n" + "\n".join(text),
                      file=sys.stderr)


def wait_for(check: Any, timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values: list[float], scale: float = 1.0, digits: int = 2) -> dict[str, Any]:
    return {"n": len(values), **{f"p{p}": None if (v := percentile(values, p)) is None
                                 else round(v * scale, digits) for p in (50, 95, 99)},
            "max": round(max(values) * scale, digits) if values else None}


class Sampler(threading.Thread):
    """GET one URL over and over, a pause between, recording each answer's latency."""

    def __init__(self, url: str, headers: dict[str, str], pause: float) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.pause = url, headers, pause
        self.latencies: list[float] = []
        self.errors = 0
        self.done = threading.Event()

    def run(self) -> None:
        with httpx.Client(headers=self.headers, timeout=30) as client:
            while not self.done.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.latencies.append(time.perf_counter() - started)
                else:
                    self.errors += 1
                self.done.wait(self.pause)

    def stop(self) -> "Sampler":
        self.done.set()
        self.join()
        return self


def is_id(part: str) -> bool:
    return len(part) >= 16 or (len(part) >= 8 and any(c.isdigit() for c in part))


def route_of(method: str, path: str) -> str:
    """`GET /v1/fine_tuning/jobs/{id}/events` for a request to a job's events."""
    parts = ["{id}" if is_id(p) else p for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"


def family_of(key: str) -> str:
    """`ftm:job:*:events` for one job's event stream."""
    return ":".join("*" if is_id(p) else p for p in key.split(":"))


def memory_by_family(client: redis.Redis) -> dict[str, int]:
    found = list(client.scan_iter(count=1000))
    pipe = client.pipeline(transaction=False)
    for key in found:
        pipe.memory_usage(key, samples=0)
    sizes: Counter[str] = Counter()
    for key, size in zip(found, pipe.execute(), strict=True):
        sizes[family_of(key.decode())] += size or 0
    return dict(sizes.most_common())


class RequestLog:
    """The emulator's request log, read often enough that nothing falls out of it between."""

    def __init__(self, emulator: httpx.Client) -> None:
        self.emulator, self.last, self.routes = emulator, 0.0, Counter[str]()

    def total(self) -> int:
        return int(self.emulator.get("/__emulator/stats").json()["requests"]["total"])

    def read(self) -> None:
        log = self.emulator.get("/__emulator/requests", params={"limit": 10_000}).json()["data"]
        for entry in log:
            if entry["timestamp"] > self.last:
                self.routes[route_of(entry["method"], entry["path"])] += 1
        self.last = max([self.last] + [entry["timestamp"] for entry in log])


def seen_at(event: dict[str, Any]) -> float:
    """When the service recorded an event: its id is the Redis stream id (milliseconds)."""
    head = event["id"].removeprefix("ev_").partition("-")[0]
    return int(head) / 1000 if head.isdigit() else float(event["created_at"])


def status_times(api: httpx.Client, job_id: str) -> dict[str, float]:
    """When the service first showed each status of the job."""
    seen: dict[str, float] = {}
    after = None
    while True:
        page = api.get(f"/v1/jobs/{job_id}/events",
                       params={"limit": 100, **({"after": after} if after else {})})
        page.raise_for_status()
        body = page.json()
        for event in body["data"]:
            if event["type"] == "status":
                seen.setdefault(event["data"]["to"], seen_at(event))
        if not body["has_more"]:
            return seen
        after = body["last_id"]


def lags(api: httpx.Client, emulator: httpx.Client, job_ids: list[str]
         ) -> dict[str, dict[str, Any]]:
    """Per status, how long after the provider's change the service showed it."""
    provider = {job["metadata"]["ftm_job_id"]: {h["status"]: h["at"] for h in
                                                job["status_history"]}
                for job in emulator.get("/__emulator/jobs").json()["data"]
                if (job["metadata"] or {}).get("ftm_job_id")}
    with ThreadPoolExecutor(8) as pool:
        service = dict(zip(job_ids, pool.map(lambda j: status_times(api, j), job_ids), strict=True))
    result: dict[str, dict[str, Any]] = {}
    for status in ("queued", "running", "succeeded"):
        values = [service[j][status] - provider[j][status] for j in job_ids
                  if status in service[j] and status in provider.get(j, {})]
        result[status] = {**summary(values), "not_shown": len(job_ids) - len(values)}
    launch = [provider[j]["validating_files"] - service[j]["pending"] for j in job_ids
              if "pending" in service[j] and "validating_files" in provider.get(j, {})]
    result["launch"] = summary(launch)  # created in the service → provider job exists
    return result


def start_all(args: argparse.Namespace, folder: Path, procs: Processes) -> dict[str, str]:
    redis_port, emulator_port, api_port = (redis_server.free_port() for _ in range(3))
    procs.adopt("redis", redis_server.start(redis_port, folder / "redis"))
    emulator = f"http://127.0.0.1:{emulator_port}"
    procs.start("emulator", [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port",
                             str(emulator_port), "--speed", str(args.speed)], dict(os.environ))
    env = {**os.environ, "FTM_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "FTM_DATA_DIR": str(folder / "data"), "FTM_ADMIN_KEY": ADMIN_KEY,
           "FTM_LOG_LEVEL": "WARNING", "FTM_RATE_LIMIT_PER_MINUTE": "10000000",
           "FTM_OPENAI_REQUESTS_PER_MINUTE": str(args.rpm),
           "OPENAI_BASE_URL": f"{emulator}/v1", "OPENAI_API_KEY": EMULATOR_KEY}
    if SHARED_TIKTOKEN.is_dir():
        env.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED_TIKTOKEN))
    api = f"http://127.0.0.1:{api_port}"
    procs.start("api", [sys.executable, "-m", "uvicorn", "service.api.app:create_app", "--factory",
                        "--host", "127.0.0.1", "--port", str(api_port), "--no-access-log"], env)
    for i in range(args.workers):
        procs.start(f"worker{i + 1}", [sys.executable, "-m", "worker"], env)
    wait_for(lambda: httpx.get(f"{emulator}/__emulator/health").status_code == 200, 60,
             "the emulator")
    wait_for(lambda: httpx.get(f"{api}/healthz").status_code == 200, 60, "the API")
    return {"redis": env["FTM_REDIS_URL"], "emulator": emulator, "api": api}


def make_key(api: httpx.Client) -> str:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    project = api.post("/v1/admin/projects", json={"name": "jobs-bench"}, headers=admin)
    project.raise_for_status()
    key = api.post(f"/v1/admin/projects/{project.json()['id']}/keys", json={}, headers=admin)
    key.raise_for_status()
    return str(key.json()["key"])


def job_status(api: httpx.Client, job_id: str) -> str:
    return str(api.get(f"/v1/jobs/{job_id}").raise_for_status().json()["status"])


def statuses(store: redis.Redis, before: dict[str, int]) -> dict[str, int]:
    """Jobs by status in the service, less those counted before the run."""
    now = {k.decode(): int(v) for k, v in store.hgetall(BY_STATUS).items()}
    return {k: n - before.get(k, 0) for k, n in now.items() if n - before.get(k, 0)}


def measure(args: argparse.Namespace, folder: Path, procs: Processes) -> dict[str, Any]:
    urls = start_all(args, folder, procs)
    store = redis.Redis.from_url(urls["redis"])
    emulator = httpx.Client(base_url=urls["emulator"], timeout=60)
    api = httpx.Client(base_url=urls["api"], timeout=60)
    api.headers["Authorization"] = f"Bearer {make_key(api)}"

    upload = api.post("/v1/datasets", data={"name": "jobs-bench"},
                      files={"file": ("jobs.jsonl", labelled_chat(EXAMPLES))})
    dataset = upload.raise_for_status().json()["id"]
    wait_for(lambda: api.get(f"/v1/datasets/{dataset}").json()["status"] == "ready", 120,
             "the dataset's validation")
    body = {"model": MODEL, "training_dataset": dataset}

    # One job run fast to the end first: the GET sampled below reads it, idle and under load.
    emulator.post("/__emulator/config", json={"speed": 100}).raise_for_status()
    probe = api.post("/v1/jobs", json=body).raise_for_status().json()["id"]
    wait_for(lambda: job_status(api, probe) == "succeeded", 180, "the first job", every=0.5)
    emulator.post("/__emulator/config", json={"speed": args.speed}).raise_for_status()
    wait_for(lambda: store.llen("rq:queue:ftm") == 0, 60, "an idle queue")
    probe_url = f"{urls['api']}/v1/jobs/{probe}"
    baseline = Sampler(probe_url, dict(api.headers), args.sample_pause)
    baseline.start()
    time.sleep(args.baseline_seconds)
    baseline.stop()

    gauge_before = {k.decode(): int(v) for k, v in store.hgetall(BY_STATUS).items()}
    memory_before = int(store.info("memory")["used_memory"])
    requests = RequestLog(emulator)
    requests.read()
    requests.routes.clear()
    requests_before = requests.total()
    loaded = Sampler(probe_url, dict(api.headers), args.sample_pause)
    loaded.start()
    started = time.time()
    with ThreadPoolExecutor(8) as pool:
        job_ids = list(pool.map(
            lambda _: api.post("/v1/jobs", json=body).raise_for_status().json()["id"],
            range(args.jobs)))
    created_seconds = time.time() - started
    memory_created = int(store.info("memory")["used_memory"])
    print(f"created {args.jobs} jobs in {created_seconds:.1f} s", flush=True)

    peak = {"service_active": 0, "provider_active": 0, "used_memory": memory_created}
    deadline, shown, read = time.monotonic() + args.timeout, 0.0, time.monotonic()
    while True:
        counts = statuses(store, gauge_before)
        provider = emulator.get("/__emulator/stats").json()["jobs"]["by_status"]
        if time.monotonic() - read >= 10:  # the log keeps the last 10,000 requests
            read = time.monotonic()
            requests.read()
        peak["service_active"] = max(peak["service_active"], sum(
            n for s, n in counts.items() if s not in TERMINAL))
        peak["provider_active"] = max(peak["provider_active"], sum(
            n for s, n in provider.items() if s not in TERMINAL))
        peak["used_memory"] = max(peak["used_memory"], int(store.info("memory")["used_memory"]))
        if counts.get("succeeded", 0) >= args.jobs:
            break
        if time.monotonic() > deadline or any(counts.get(s) for s in ("failed", "cancelled")):
            actual = Counter(job_status(api, j) for j in job_ids)
            raise RuntimeError(f"not every job succeeded within {time.time() - started:.0f} s: "
                               f"service {dict(actual)}, provider {provider}")
        if time.monotonic() - shown >= 15:
            shown = time.monotonic()
            print(f"{time.time() - started:6.0f} s  service {counts}  provider {provider}  "
                  f"queue {store.llen('rq:queue:ftm')}  load {os.getloadavg()[0]:.1f}",
                  flush=True)
        time.sleep(2)
    wall = time.time() - started
    requests.read()
    requests_total = requests.total() - requests_before
    loaded.stop()
    memory_done = int(store.info("memory")["used_memory"])
    cpu = procs.cpu_seconds()

    actual = Counter(job_status(api, j) for j in job_ids)
    if actual != Counter({"succeeded": args.jobs}):
        raise RuntimeError(f"the service's gauge said all succeeded, the API says {dict(actual)}")
    lag = lags(api, emulator, job_ids)
    families = memory_by_family(store)
    base, load = summary(baseline.latencies, 1000), summary(loaded.latencies, 1000)
    return {
        "jobs": args.jobs, "workers": args.workers, "speed": args.speed,
        "openai_requests_per_minute": args.rpm, "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()], "at": int(started),
        "create_seconds": round(created_seconds, 1), "wall_seconds": round(wall, 1),
        "peak_active": {k: peak[k] for k in ("service_active", "provider_active")},
        "provider_requests": {"total": requests_total,
                              "per_job": round(requests_total / args.jobs, 2),
                              "by_route_per_job": {r: round(n / args.jobs, 2) for r, n in
                                                   requests.routes.most_common()}},
        "sync_lag_seconds": lag,
        "redis_memory": {"before_bytes": memory_before,
                         "per_job_created_bytes": (memory_created - memory_before) // args.jobs,
                         "per_job_succeeded_bytes": (memory_done - memory_before) // args.jobs,
                         "per_job_peak_bytes": (peak["used_memory"] - memory_before) // args.jobs,
                         "by_key_family_at_end": families},
        "status_get_ms": {"idle": base, "loaded": load, "loaded_errors": loaded.errors,
                          "ratio_p50": ratio(load["p50"], base["p50"]),
                          "ratio_p95": ratio(load["p95"], base["p95"]),
                          "ratio_p99": ratio(load["p99"], base["p99"])},
        "cpu_seconds": cpu,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the children on the way out
    with tempfile.TemporaryDirectory(prefix="ftm-jobs-bench-") as folder:
        procs = Processes(Path(folder))
        try:
            return measure(args, Path(folder), procs)
        except Exception:
            procs.tails()
            raise
        finally:
            procs.stop()


def show(result: dict[str, Any]) -> None:
    lag, get = result["sync_lag_seconds"], result["status_get_ms"]
    memory = result["redis_memory"]
    print(f"\n{result['jobs']} jobs, {result['workers']} workers, emulator speed "
          f"{result['speed']:g}, cap {result['openai_requests_per_minute']} req/min: all "
          f"succeeded in {result['wall_seconds']} s (peak active {result['peak_active']})")
    print(f"provider requests per job   {result['provider_requests']['per_job']}")
    for status in ("launch", "queued", "running", "succeeded"):
        row = lag[status]
        extra = f"  (not shown: {row['not_shown']})" if row.get("not_shown") else ""
        print(f"lag {status:<10} s        p50 {row['p50']}  p95 {row['p95']}  "
              f"max {row['max']}{extra}")
    print(f"Redis bytes per job         created {memory['per_job_created_bytes']}  "
          f"succeeded {memory['per_job_succeeded_bytes']}  peak {memory['per_job_peak_bytes']}")
    for name, label in (("idle", "idle (baseline)"), ("loaded", "under load")):
        row = get[name]
        print(f"status GET ms {label:<16} p50 {row['p50']}  p95 {row['p95']}  p99 {row['p99']}"
              f"  (n={row['n']})")
    print(f"status GET loaded/idle      p50 {get['ratio_p50']}  p95 {get['ratio_p95']}  "
          f"p99 {get['ratio_p99']}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--speed", type=float, default=1.0,
                        help="emulator speed: a job takes about 110 s / speed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rpm", type=int, default=3000,
                        help="openai_requests_per_minute (the service's default)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds for every job to succeed")
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--sample-pause", type=float, default=0.05,
                        help="seconds between status GETs")
    args = parser.parse_args(argv)
    result = run(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    show(result)
    print(f"wrote {RESULTS}")
    return result


if __name__ == "__main__":
    main()
