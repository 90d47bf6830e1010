"""Closed-loop HTTP load: N keep-alive connections each sending one GET after another.

`load(url, headers, connections, seconds)` runs wrk (Debian's `wrk`, in C, so the load costs
little of the CPU being measured) and falls back to this module's own asyncio client, run as
`python -m bench.loadgen` in its own process. Both answer the same JSON: requests, seconds, rps,
p50/p99/max latency in ms, errors (socket errors and non-2xx answers).
"""

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n{"requests": %d, "duration_us": %d, "errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def result(requests: int, seconds: float, errors: int, p50: float, p99: float,
           worst: float, tool: str) -> dict[str, Any]:
    return {"tool": tool, "requests": requests, "seconds": round(seconds, 2),
            "rps": round(requests / seconds, 1), "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2), "max_ms": round(worst, 2), "errors": errors}


def run_wrk(wrk: str, url: str, headers: dict[str, str], connections: int,
            seconds: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    args = [wrk, "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", script.name]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    found = json.loads(out.strip().splitlines()[-1])
    return result(found["requests"], found["duration_us"] / 1e6, found["errors"],
                  found["p50_us"] / 1e3, found["p99_us"] / 1e3, found["max_us"] / 1e3, "wrk")


def load(url: str, headers: dict[str, str], connections: int, seconds: float) -> dict[str, Any]:
    """Load url for seconds with wrk when installed, else with this module in its own process."""
    wrk = shutil.which("wrk")
    if wrk:
        return run_wrk(wrk, url, headers, connections, seconds)
    args = [sys.executable, "-m", "bench.loadgen", url, "--connections", str(connections),
            "--seconds", str(seconds)]
    for name, value in headers.items():
        args += ["--header", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


async def one_connection(host: str, port: int, request: bytes, until: float,
                         latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    while time.perf_counter() < until:
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if not head.startswith(b"HTTP/1.1 2"):
            errors.append(1)
    writer.close()


async def run_async(url: str, headers: dict[str, str], connections: int,
                    seconds: float) -> dict[str, Any]:
    parts = urlsplit(url)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}",
             *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(one_connection(parts.hostname or "127.0.0.1", parts.port or 80,
                                          request, started + seconds, latencies, errors)
                           for _ in range(connections)))
    took = time.perf_counter() - started
    ranked = sorted(latencies) or [0.0]

    def at(q: float) -> float:
        return ranked[min(len(ranked) - 1, int(q * len(ranked)))] * 1000

    return result(len(latencies), took, len(errors), at(0.5), at(0.99), ranked[-1] * 1000,
                  "python-asyncio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    print(json.dumps(asyncio.run(run_async(args.url, headers, args.connections, args.seconds))))


if __name__ == "__main__":
    main()
