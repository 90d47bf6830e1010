"""The worker's exporter adds up what each task's fork gained, and serves it as Prometheus text."""

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.metrics import PROVIDER_REQUESTS, TASK_SECONDS
from tests.support.env import ROOT
from worker import metrics


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    server = metrics.exporter(tmp_path, "127.0.0.1", 0, "metrics-token-0123")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/metrics", tmp_path
    server.shutdown()
    thread.join(5)


def a_fork_runs(directory: Path) -> None:
    """What MeteredWorker does around a task in its fork."""
    before = metrics.snapshot()
    PROVIDER_REQUESTS.labels("files.create", "ok").inc()
    TASK_SECONDS.labels("launch_job").observe(0.3)
    metrics.write_gains(directory, before)


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, headers={"Authorization": "Bearer metrics-token-0123"}).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_gains_of_every_fork_add_up(exporter):
    url, directory = exporter
    before = samples(url)
    requests = ("ftm_provider_requests_total", (("outcome", "ok"), ("route", "files.create")))
    count = ("ftm_worker_task_duration_seconds_count", (("task", "launch_job"),))
    bucket = ("ftm_worker_task_duration_seconds_bucket", (("le", "0.5"), ("task", "launch_job")))
    a_fork_runs(directory)
    a_fork_runs(directory)
    after = samples(url)
    assert after[requests] == before.get(requests, 0) + 2
    assert after[count] == before.get(count, 0) + 2
    assert after[bucket] == before.get(bucket, 0) + 2
    assert list(directory.glob("*.json")) == []  # folded once, not counted again
    assert samples(url)[requests] == after[requests]


def test_a_token_guards_the_worker_metrics(exporter):
    url, _ = exporter
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_port_in_use_is_one_json_line_and_no_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = ("from worker.metrics import serve; "
                f"serve({str(tmp_path)!r}, '127.0.0.1', {port}, '', 'INFO')")
        run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, check=True)
    lines = [orjson.loads(line) for line in (run.stdout + run.stderr).splitlines()]
    assert [line["event"] for line in lines] == ["worker.metrics.unavailable"]
    assert lines[0]["port"] == port
    assert lines[0]["level"] == "error"
