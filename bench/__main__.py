"""`python -m bench [report|eval|jobs|api|upload|creates] [options for that one]`: the
benchmarks, one after the other.

Without a name all of them run in turn (`make bench`), each in its own process writing its JSON
under bench/results/; a summary of those files closes the run. With a name only that one runs,
with any further options passed on to it (`python -m bench jobs --jobs 50 --speed 4`).
"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCHES = {
    "report": ["bench.report_bench", "--mb", "200", "--repeat", "3", "--wait-idle", "10"],
    "eval": ["bench.eval_bench"],
    "jobs": ["bench.jobs_bench"],
    "api": ["bench.api_bench"],
    "upload": ["bench.upload_bench"],
    "creates": ["bench.create_bench"],
}


def read(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def summary_lines(name: str) -> list[str]:
    result = read(name)
    if result is None:
        return ["no results"]
    if name == "report":
        run = result["runs"].get("200mb") or next(iter(result["runs"].values()))
        return [(f"{run['bytes'] / 1e6:.0f} MB: report {run['report']['mb_per_s']} MB/s, "
                 f"report/naive {run.get('report_over_naive')} (goal >= 2.5), "
                 f"report/floor {run['report_over_floor']} (goal >= 1.5), "
                 f"peak RSS {run['report']['peak_rss_mb']} MB")]
    if name == "api":
        return [(f"GET /v1/jobs/{{id}}, {key.replace('_', ' ')}: service/bare throughput "
                 f"{run['rps_ratio']} (goal >= 0.70), p99 {run['p99_ratio']}x (goal < 2), "
                 f"CPU per request bare/service {run['cpu_efficiency_ratio']}")
                for key, run in result["runs"].items()]
    if name == "upload":
        return [(f"{result['bytes'] / 2**30:.2f} GB upload {result['upload']['mb_per_s']} MB/s, "
                 f"dd {result['dd']['mb_per_s']} MB/s: ratio {result['upload_over_dd']} "
                 f"(goal >= 0.5), API peak RSS {result['upload']['peak_rss_mb']} MB (goal < 200)")]
    if name == "creates":
        return [(f"{result['clients']} clients for {result['seconds']} s: {result['created']} "
                 f"datasets created ({result['created_per_s']}/s), statuses {result['statuses']}, "
                 f"missing after 201: {result['missing_after_201']}, 5xx: "
                 f"{result['server_errors']}")]
    if name == "eval":
        return [(f"{result['requests']} requests at {result['achieved_rps']} req/s of a "
                 f"{result['cap_rps']:.0f} req/s cap: ratio {result['ratio']} "
                 f"(steady {result['steady_ratio']}; goal >= 0.80)")]
    lag, get = result["sync_lag_seconds"], result["status_get_ms"]
    return [(f"{result['jobs']} jobs, {result['workers']} workers: all succeeded in "
             f"{result['wall_seconds']} s; {result['provider_requests']['per_job']} provider "
             "requests per job"),
            (f"sync lag s: running p50 {lag['running']['p50']} p95 {lag['running']['p95']}; "
             f"succeeded p50 {lag['succeeded']['p50']} p95 {lag['succeeded']['p95']}"),
            (f"Redis bytes per job {result['redis_memory']['per_job_succeeded_bytes']}; status "
             f"GET p95 {get['loaded']['p95']} ms = {get['ratio_p95']}x idle")]


def run(args: list[str]) -> int:
    """Run one benchmark; on Ctrl-C or SIGTERM let it stop what it started before leaving."""
    child = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT)

    def forward(signum: int, _: object) -> None:
        child.send_signal(signum)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        return child.wait()
    except BaseException:
        child.wait()  # Ctrl-C reached it as well
        raise


def main(argv: list[str]) -> int:
    if argv and argv[0] not in BENCHES:
        print(f"usage: python -m bench [{'|'.join(BENCHES)}] [options]", file=sys.stderr)
        return 2
    names = [argv[0]] if argv else list(BENCHES)
    outcome: dict[str, str] = {}
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        code = run([*BENCHES[name], *argv[1:]])
        took = time.monotonic() - started
        outcome[name] = f"ok in {took:.0f} s" if code == 0 else f"FAILED (exit {code})"
    print("\n=== summary ===")
    for name in names:
        print(f"{name}: {outcome[name]}")
        if outcome[name].startswith("ok"):
            for line in summary_lines(name):
                print(f"  {line}")
    return 0 if all(o.startswith("ok") for o in outcome.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
