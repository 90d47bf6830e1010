"""Online evaluation throughput against the deployment's provider request-rate cap.

Starts its own Redis-protocol server and emulator (fast jobs, a little latency per request),
fine-tunes a model on a generated 2,000-example labelled chat set through the service's API,
then evaluates that model and its base model on the set (2 × 2,000 requests) with an RQ worker
in this process. The achieved request rate is read from the emulator's request log (first to
last answered chat completion) and compared with `openai_requests_per_minute`; the goal is at
least 80 % of the cap. Results go to bench/results/eval.json.

    uv run python -m bench.eval_bench
    uv run python -m bench.eval_bench --examples 2000 --rpm 6000 --concurrency 64 --latency-ms 20
"""

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "eval.json"
SHARED_TIKTOKEN = ROOT.parent / "shared" / "data" / "tiktoken_cache"
MODEL = "gpt-4o-mini-2024-07-18"
LABELS = ("Positive", "Negative", "Neutral", "Mixed")
_WORDS_TEXT = ("order refund invoice shipping delivery password account plan latency error retry "
               "great awful fine okay slow fast broken helpful rude kind late early cheap costly")
WORDS = _WORDS_TEXT.split()
ADMIN_KEY = "bench-admin-key-0123456789"
EMULATOR_KEY = "sk-emulator-bench-0123456789"


def labelled_chat(n: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 20)))
        lines.append(json.dumps({"messages": [
            {"role": "system", "content": "Classify the customer's message: "
                                          + ", ".join(LABELS) + "."},
            {"role": "user", "content": f"Message {i}: {text}"},
            {"role": "assistant", "content": LABELS[rng.randrange(len(LABELS))]}]}))
    return ("\n".join(lines) + "\n").encode()


def start_emulator(latency_ms: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--speed", "1000"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("LISTENING "):
        process.kill()
        raise RuntimeError(f"emulator did not start: {first}")
    url = first.removeprefix("LISTENING ")
    httpx.post(f"{url}/__emulator/faults", json={"latency_ms": latency_ms}).raise_for_status()
    return process, url


def work(ctx: Any) -> None:
    from rq import SimpleWorker

    from worker.context import use_context

    use_context(ctx)
    SimpleWorker(ctx.queues, connection=ctx.redis).work(burst=True, with_scheduler=True,
                                                         logging_level="WARNING")


def wait_for(check: Any, timeout: float, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {timeout} s")
        time.sleep(every)
    return value


def fine_tune(client: Any, ctx: Any, auth: dict[str, str], content: bytes) -> tuple[str, str]:
    """Upload the set and fine-tune on it; answer (dataset id, job id)."""
    from service.jobs import sync

    upload = client.post("/v1/datasets", headers=auth, data={"name": "bench"},
                         files={"file": ("bench.jsonl", io.BytesIO(content))})
    dataset_id = upload.json()["id"]
    work(ctx)
    job = client.post("/v1/jobs", headers=auth, json={"model": MODEL,
                                                      "training_dataset": dataset_id}).json()

    def succeeded() -> bool:
        sync.sweep(ctx)
        work(ctx)
        status = client.get(f"/v1/jobs/{job['id']}", headers=auth).json()["status"]
        if status in ("failed", "cancelled"):
            raise RuntimeError(f"the bench's job {status}")
        return status == "succeeded"

    wait_for(succeeded, timeout=300)
    return dataset_id, job["id"]


def answered_times(emulator: str) -> list[float]:
    log = httpx.get(f"{emulator}/__emulator/requests",
                    params={"path": "/v1/chat/completions", "limit": 100_000}).json()
    return sorted(e["timestamp"] for e in log["data"] if e["status"] == 200)


def measure(args: argparse.Namespace, client: Any, ctx: Any, auth: dict[str, str],
            emulator: str) -> dict[str, Any]:
    dataset_id, job_id = fine_tune(client, ctx, auth, labelled_chat(args.examples))
    started = time.perf_counter()
    created = client.post("/v1/evaluations", headers=auth, json={
        "dataset": dataset_id, "job": job_id, "max_tokens": 10,
        "concurrency": args.concurrency}).json()
    work(ctx)
    evaluation = client.get(f"/v1/evaluations/{created['id']}", headers=auth).json()
    wall = time.perf_counter() - started
    if evaluation["status"] != "succeeded":
        raise RuntimeError(f"evaluation ended {evaluation['status']}: {evaluation['error']}")
    times = answered_times(emulator)
    span = times[-1] - times[0]
    cap = args.rpm / 60
    achieved = (len(times) - 1) / span
    # The bucket starts full (one second of requests); the middle 80 % shows the steady rate.
    low, high = len(times) // 10, len(times) * 9 // 10
    steady = (high - low) / (times[high] - times[low])
    return {
        "examples": args.examples, "models": len(evaluation["models"]),
        "requests": len(times), "concurrency": args.concurrency,
        "emulator_latency_ms": args.latency_ms, "cap_rps": cap,
        "achieved_rps": round(achieved, 2), "ratio": round(achieved / cap, 4),
        "steady_rps": round(steady, 2), "steady_ratio": round(steady / cap, 4),
        "span_seconds": round(span, 2), "wall_seconds": round(wall, 2),
        "accuracy": {m: r["accuracy"] for m, r in evaluation["results"].items()},
        "mean_latency_ms": {m: round(r["mean_latency_ms"], 2)
                            for m, r in evaluation["results"].items()},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if "TIKTOKEN_CACHE_DIR" not in os.environ and SHARED_TIKTOKEN.is_dir():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(SHARED_TIKTOKEN)
    from fastapi.testclient import TestClient

    from devtools import redis_server
    from service.api.app import create_app
    from service.context import build_context
    from service.settings import Settings

    emulator_process, emulator = start_emulator(args.latency_ms)
    with tempfile.TemporaryDirectory() as folder:
        port = redis_server.free_port()
        redis_process = redis_server.start(port, Path(folder) / "redis")
        try:
            settings = Settings(  # type: ignore[call-arg]
                redis_url=f"redis://127.0.0.1:{port}/0", data_dir=Path(folder) / "data",
                admin_key=ADMIN_KEY, log_level="WARNING", openai_base_url=f"{emulator}/v1",
                openai_api_key=EMULATOR_KEY, openai_requests_per_minute=args.rpm,
                sync_interval_running_seconds=0.05, sync_interval_queued_seconds=0.05)
            ctx = build_context(settings)
            with TestClient(create_app(settings)) as client:
                admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
                project = client.post("/v1/admin/projects", json={"name": "bench"},
                                      headers=admin).json()
                key = client.post(f"/v1/admin/projects/{project['id']}/keys", json={},
                                  headers=admin).json()
                return measure(args, client, ctx, {"Authorization": f"Bearer {key['key']}"},
                               emulator)
        finally:
            redis_process.terminate()
            redis_process.wait(5)
            emulator_process.terminate()
            emulator_process.wait(5)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--rpm", type=int, default=6000, help="openai_requests_per_minute")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=int, default=20, help="emulator latency per request")
    args = parser.parse_args(argv)
    result = run(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"evaluation: {result['requests']} requests in {result['span_seconds']} s = "
          f"{result['achieved_rps']} req/s of a {result['cap_rps']:.0f} req/s cap: "
          f"ratio {result['ratio']:.3f} (steady {result['steady_ratio']:.3f}); goal ≥ 0.80")
    return result


if __name__ == "__main__":
    main()
