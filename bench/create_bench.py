"""64 concurrent clients creating small datasets for 30 s: every 201 has its dataset, no 5xx.

Starts its own Redis-protocol server and the service (uvicorn, --processes server processes),
then --clients asyncio clients each upload small chat JSONL files one after another for
--seconds. Afterwards every id answered with 201 is read back (GET /v1/datasets/{id} and its
content, byte for byte). Results go to bench/results/creates.json.

    uv run python -m bench.create_bench                       # 64 clients, 30 s
    uv run python -m bench.create_bench --seconds 5           # a quick check
"""

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.api_bench import ADMIN_KEY, start_app, stop
from bench.upload_bench import project_key
from devtools import redis_server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "creates.json"


def small_file(client: int, n: int) -> bytes:
    line = {"messages": [{"role": "user", "content": f"client {client} file {n}"},
                         {"role": "assistant", "content": "ok"}]}
    return (json.dumps(line) + "\n").encode() * 5


async def one_client(api: httpx.AsyncClient, number: int, until: float,
                     created: dict[str, bytes], statuses: Counter[str],
                     latencies: list[float]) -> None:
    n = 0
    while time.monotonic() < until:
        content = small_file(number, n)
        n += 1
        started = time.monotonic()
        try:
            response = await api.post("/v1/datasets", data={"name": f"c{number}-{n}"},
                                      files={"file": ("small.jsonl", content)})
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1
            continue
        latencies.append(time.monotonic() - started)
        statuses[str(response.status_code)] += 1
        if response.status_code == 201:
            created[response.json()["id"]] = content


async def check(api: httpx.AsyncClient, created: dict[str, bytes]) -> list[str]:
    """The ids answered 201 whose dataset or content is not there, exactly."""
    missing: list[str] = []
    gate = asyncio.Semaphore(32)

    async def one(dataset_id: str, content: bytes) -> None:
        async with gate:
            record = await api.get(f"/v1/datasets/{dataset_id}")
            body = await api.get(f"/v1/datasets/{dataset_id}/content")
            if record.status_code != 200 or body.content != content:
                missing.append(dataset_id)

    await asyncio.gather(*(one(i, c) for i, c in created.items()))
    return missing


async def run(url: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60,
                                 headers={"Authorization": f"Bearer {key}"}) as api:
        created: dict[str, bytes] = {}
        statuses: Counter[str] = Counter()
        latencies: list[float] = []
        started = time.monotonic()
        await asyncio.gather(*(one_client(api, i, started + args.seconds, created, statuses,
                                          latencies) for i in range(args.clients)))
        took = time.monotonic() - started
        missing = await check(api, created)
    ranked = sorted(latencies) or [0.0]
    server_errors = sum(n for s, n in statuses.items() if s.isdigit() and int(s) >= 500)
    return {"clients": args.clients, "seconds": round(took, 1), "processes": args.processes,
            "statuses": dict(statuses), "created": len(created),
            "created_per_s": round(len(created) / took, 1),
            "latency_ms": {"p50": round(statistics.median(ranked) * 1000, 1),
                           "p99": round(ranked[int(0.99 * (len(ranked) - 1))] * 1000, 1)},
            "missing_after_201": len(missing), "server_errors": server_errors,
            "goals_met": not missing and server_errors == 0 and len(created) > 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftm-create-bench-") as name:
        folder = Path(name)
        port = redis_server.free_port()
        server = redis_server.start(port, folder / "redis")
        redis_url = f"redis://127.0.0.1:{port}/0"
        env = {**os.environ, "FTM_REDIS_URL": redis_url, "FTM_DATA_DIR": str(folder / "data"),
               "FTM_ADMIN_KEY": ADMIN_KEY, "FTM_RATE_LIMIT_PER_MINUTE": "100000000"}
        try:
            key = project_key(redis_url, folder)
            api, url = start_app("service", args.processes, env, folder)
            try:
                result = asyncio.run(run(url, key, args))
            finally:
                stop(api)
        finally:
            server.terminate()
            server.wait(10)
    result.update(cpus=os.cpu_count(), at=int(time.time()),
                  load_average_at_end=[round(x, 2) for x in os.getloadavg()])
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
