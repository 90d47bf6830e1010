"""Report engine throughput and memory against the public recipe and the tokenizer floor.

On one generated chat file, each in its own process (so one cannot inherit another's memory),
with the peak RSS of that process and all its children sampled every 20 ms:
  naive  - bench/naive_report.py, the cookbook recipe (skipped with --skip-naive)
  floor  - one process, a plain loop of encode_ordinary over the strings the recipe encodes,
           extracted beforehand; only the loop is timed
  report - service.datasets.report.build_report, wall time including its process pool
MB = 10^6 bytes. With --repeat N each phase runs N times and keeps its fastest run (the machine
may be shared; the peak RSS is the largest seen). Results merge into bench/results/report.json
under the file size.

    uv run python -m bench.report_bench --mb 200
    uv run python -m bench.report_bench --mb 1000 --skip-naive
"""

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "report.json"
SHARED_TIKTOKEN = ROOT.parent / "shared" / "data" / "tiktoken_cache"
MODEL = "gpt-4o-mini-2024-07-18"


def run_phase(phase: str) -> dict[str, Any]:
    """Run one phase in this process (the child side); answers its timings."""
    path, model = os.environ["BENCH_FILE"], os.environ["BENCH_MODEL"]
    from service.datasets.tokens import encoding_name_for
    encoding_name = encoding_name_for(model)
    if phase == "naive":
        from bench.naive_report import naive_report
        started = time.perf_counter()
        result = naive_report(path, encoding_name)
        return {"seconds": time.perf_counter() - started, "examples": result["examples"],
                "tokens": result["total"]["sum"]}
    if phase == "floor":
        import tiktoken
        strings = extract_strings(path)
        encode = tiktoken.get_encoding(encoding_name).encode_ordinary
        started = time.perf_counter()
        tokens = 0
        for text in strings:
            tokens += len(encode(text))
        return {"seconds": time.perf_counter() - started, "strings": len(strings),
                "tokens": tokens}
    from service.datasets.pricing import load_prices
    from service.datasets.report import build_report
    workers = int(os.environ.get("BENCH_WORKERS", "0"))
    started = time.perf_counter()
    report = build_report(path, "chat", model, prices=load_prices(), workers=workers)
    return {"seconds": time.perf_counter() - started, "examples": report["examples"],
            "valid_examples": report["valid_examples"], "tokens": report["tokens"]["total"]["sum"],
            "duplicates": report["warnings"]["counts"]["duplicate_example"]}


def extract_strings(path: str) -> list[str]:
    """Every value the recipe encodes: each message's role, content and name."""
    strings: list[str] = []
    with open(path, "rb") as f:
        for line in f:
            for message in orjson.loads(line)["messages"]:
                strings.extend(message.values())
    return strings


def busy_cpu_seconds() -> float:
    """CPU seconds all processes of the machine have used since boot."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_until_idle(max_percent: float, timeout: float = 900.0) -> float:
    """Wait until other processes use under max_percent of the CPUs for a second."""
    deadline = time.monotonic() + timeout
    while (busy := float(psutil.cpu_percent(interval=1.0))) >= max_percent:
        if time.monotonic() > deadline:
            break
    return busy


def measure(phase: str, path: Path, model: str, workers: int) -> dict[str, Any]:
    """Run phase in a child process; add the peak RSS of its process tree, the CPU it used
    and how many CPUs other processes of the machine kept busy meanwhile."""
    env = {**os.environ, "BENCH_FILE": str(path), "BENCH_MODEL": model,
           "BENCH_WORKERS": str(workers)}
    busy_before, own_before, started = busy_cpu_seconds(), children_cpu_seconds(), time.time()
    child = subprocess.Popen([sys.executable, "-m", "bench.report_bench", "--phase", phase],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE)
    peak = {"rss_total": 0, "rss_max_process": 0, "processes": 0}
    done = threading.Event()

    def sample() -> None:
        process = psutil.Process(child.pid)
        while not done.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                sizes = []
                for member in tree:
                    with contextlib.suppress(psutil.Error):
                        sizes.append(member.memory_info().rss)
                peak["rss_total"] = max(peak["rss_total"], sum(sizes))
                peak["rss_max_process"] = max(peak["rss_max_process"], max(sizes, default=0))
                peak["processes"] = max(peak["processes"], len(sizes))
            except psutil.Error:
                break
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    wall = time.time() - started
    own = children_cpu_seconds() - own_before
    others = max(0.0, busy_cpu_seconds() - busy_before - own)
    if child.returncode != 0:
        raise SystemExit(f"phase {phase} failed with exit code {child.returncode}")
    result: dict[str, Any] = orjson.loads(out.splitlines()[-1])
    size = path.stat().st_size
    result.update(mb_per_s=round(size / result["seconds"] / 1e6, 2),
                  seconds=round(result["seconds"], 2),
                  peak_rss_mb=round(peak["rss_total"] / 2**20, 1),
                  peak_rss_one_process_mb=round(peak["rss_max_process"] / 2**20, 1),
                  processes=peak["processes"], cpu_seconds=round(own, 2),
                  other_cpus_busy=round(others / wall, 2))
    return result


def ensure_file(mb: float, seed: int, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"chat_{mb:g}mb_seed{seed}.jsonl"
    if not path.exists():
        from bench.gen_chat import generate
        partial = path.with_suffix(".partial")
        count = generate(partial, int(mb * 1e6), seed)
        partial.rename(path)
        print(f"generated {path} ({count} examples)", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="report engine benchmark")
    parser.add_argument("--mb", type=float, default=200.0, help="file size in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--workers", type=int, default=0, help="build_report workers (0: cores)")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per phase; the fastest counts")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="PERCENT",
                        help="before each run, wait until the machine's CPU use is below this")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "ftm-bench")
    parser.add_argument("--phase", choices=("naive", "floor", "report"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        sys.stdout.write(orjson.dumps(run_phase(args.phase)).decode() + "\n")
        return
    if SHARED_TIKTOKEN.is_dir():
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED_TIKTOKEN))
    path = ensure_file(args.mb, args.seed, args.dir)
    phases = ("floor", "report") if args.skip_naive else ("naive", "floor", "report")
    run: dict[str, Any] = {"file": str(path), "bytes": path.stat().st_size, "model": args.model,
                           "cpus": os.cpu_count(), "repeat": args.repeat, "at": int(time.time())}
    tries: dict[str, list[dict[str, Any]]] = {phase: [] for phase in phases}
    for _ in range(args.repeat):  # rounds interleave the phases so they share the conditions
        for phase in phases:
            if args.wait_idle:
                wait_until_idle(args.wait_idle)
            result = measure(phase, path, args.model, args.workers)
            tries[phase].append(result)
            print(f"{phase:>6}: {result['mb_per_s']:7.2f} MB/s  {result['seconds']:7.2f} s  "
                  f"peak RSS {result['peak_rss_mb']:7.1f} MB ({result['processes']} processes)  "
                  f"cpu {result['cpu_seconds']:6.2f} s  others busy {result['other_cpus_busy']}",
                  flush=True)
    for phase in phases:
        run[phase] = min(tries[phase], key=lambda r: r["seconds"])
        run[phase].update(peak_rss_mb=max(r["peak_rss_mb"] for r in tries[phase]),
                          all_seconds=[r["seconds"] for r in tries[phase]])
    report = run["report"]["mb_per_s"]
    run["report_over_floor"] = round(report / run["floor"]["mb_per_s"], 2)
    if "naive" in run:
        run["report_over_naive"] = round(report / run["naive"]["mb_per_s"], 2)
        run["tokens_equal_naive"] = run["report"]["tokens"] == run["naive"]["tokens"]
        print(f"token sum: report {run['report']['tokens']}, naive {run['naive']['tokens']}")
        print(f"report/naive = {run['report_over_naive']}  (must be >= 2.5)")
    print(f"report/floor = {run['report_over_floor']}  (must be >= 1.5)")
    save(f"{args.mb:g}mb", run)


def save(key: str, run: dict[str, Any]) -> None:
    """Merge run into bench/results/report.json, with the RSS growth across sizes."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = orjson.loads(RESULTS.read_bytes()) if RESULTS.exists() else {"runs": {}}
    results["runs"][key] = run
    by_size = sorted(results["runs"].values(), key=lambda r: r["bytes"])
    if len(by_size) >= 2:
        small, large = by_size[0], by_size[-1]
        results["report_rss_growth_mb"] = {
            "from": small["file"], "to": large["file"],
            "growth": round(large["report"]["peak_rss_mb"] - small["report"]["peak_rss_mb"], 1)}
        print(f"report peak RSS growth {small['bytes'] / 1e6:.0f} MB -> "
              f"{large['bytes'] / 1e6:.0f} MB: {results['report_rss_growth_mb']['growth']} MB")
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
