"""A live stack as an operator runs it (the API on uvicorn and `python -m worker` as processes
writing log files, the emulator over HTTP), traced to the console: a journey from upload to a
succeeded job, then what the operator gets: logs that are all JSON and carry the request into
the worker, one trace across both processes, and a worker /metrics whose provider counters
moved."""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from devtools.redis_server import free_port
from tests.datagen import reflections_csv
from tests.factories import wait_until
from tests.support.env import ADMIN_KEY, EMULATOR_KEY, ROOT

CONVERT = {"name": "reflections-chat", "system": "Rate the reflection.",
           "user": "Question: {Question}\nReflection: {Answers}", "assistant": "{Final}",
           "on_empty": "skip"}
LAUNCH_ID = "req_observability_launch"


def start(args: list[str], env: dict[str, str], log: Path, stack: ExitStack) -> None:
    with open(log, "wb") as out:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    stack.callback(stop, process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the process as an operator would, then anything it left in its session (the
    worker's scheduler, cron and exporter processes must not outlive the test)."""
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def stack(redis_client, redis_url: str, emulator: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    api_port, metrics_port = free_port(), free_port()
    env = {**os.environ, "FTM_REDIS_URL": redis_url, "FTM_DATA_DIR": str(tmp_path / "data"),
           "FTM_ADMIN_KEY": ADMIN_KEY, "FTM_LOG_LEVEL": "INFO", "OPENAI_BASE_URL": emulator,
           "OPENAI_API_KEY": EMULATOR_KEY, "FTM_SYNC_INTERVAL_RUNNING_SECONDS": "1",
           "FTM_SYNC_INTERVAL_QUEUED_SECONDS": "1", "FTM_SYNC_SWEEP_SECONDS": "1",
           "FTM_WORKER_METRICS_PORT": str(metrics_port), "PYTHONUNBUFFERED": "1",
           "OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "200"}
    env.pop("OTEL_SDK_DISABLED", None)
    logs = {"api": tmp_path / "api.log", "worker": tmp_path / "worker.log"}
    with ExitStack() as processes:
        start([sys.executable, "-m", "uvicorn", "service.api.app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(api_port), "--no-access-log"],
              env, logs["api"], processes)
        start([sys.executable, "-m", "worker"], env, logs["worker"], processes)
        api, metrics = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{metrics_port}/metrics"
        wait_until(lambda: answers(f"{api}/healthz") and answers(metrics), timeout=60, every=0.2)
        # stop: the processes end, exporting the spans they still hold
        yield {"api": api, "metrics": metrics, "logs": logs, "stop": processes.close}


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def provider_requests(metrics_url: str, route: str) -> float:
    """ftm_provider_requests_total for route, all outcomes, as the worker's /metrics shows it."""
    prefix = f'ftm_provider_requests_total{{outcome="ok",route="{route}"}} '
    lines = httpx.get(metrics_url, timeout=5).text.splitlines()
    return sum(float(line.removeprefix(prefix)) for line in lines if line.startswith(prefix))


def wait_for_status(http: httpx.Client, path: str, wanted: str, timeout: float = 120) -> Any:
    def check() -> Any:
        record = http.get(path).json()
        assert record["status"] not in ("failed", "invalid", "cancelled"), record
        return record if record["status"] == wanted else None
    return wait_until(check, timeout=timeout, every=0.2)


def journey(api: str, csv: Path) -> str:
    """Upload, convert, launch (with a known request id), follow to succeeded; the job's id."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    project = httpx.post(f"{api}/v1/admin/projects", json={"name": "ops"}, headers=admin).json()
    key = httpx.post(f"{api}/v1/admin/projects/{project['id']}/keys", json={},
                     headers=admin).json()["key"]
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as http:
        uploaded = http.post("/v1/datasets", files={"file": (csv.name, csv.read_bytes())})
        assert uploaded.status_code == 201, uploaded.text
        wait_for_status(http, f"/v1/datasets/{uploaded.json()['id']}", "ready")
        chat = http.post(f"/v1/datasets/{uploaded.json()['id']}/convert", json=CONVERT)
        assert chat.status_code == 201, chat.text
        wait_for_status(http, f"/v1/datasets/{chat.json()['id']}", "ready")
        job = http.post("/v1/jobs", headers={"X-Request-ID": LAUNCH_ID},
                        json={"model": "gpt-4o-mini-2024-07-18",
                              "training_dataset": chat.json()["id"]})
        assert job.status_code == 202, job.text
        wait_for_status(http, f"/v1/jobs/{job.json()['id']}", "succeeded")
        return str(job.json()["id"])


def json_lines(path: Path) -> list[dict[str, Any]]:
    parsed = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            parsed.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            pytest.fail(f"{path.name} line {number} is not JSON: {line[:300]}")
    return parsed


def test_logs_are_json_and_follow_the_request_into_the_worker(stack, tmp_path: Path) -> None:
    metrics = stack["metrics"]
    created_before = provider_requests(metrics, "fine_tuning.jobs.create")
    job_id = journey(stack["api"], reflections_csv(tmp_path / "reflections.csv", rows=40).path)

    # The fork that launched the job left its gains; the exporter shows them.
    assert provider_requests(metrics, "fine_tuning.jobs.create") == created_before + 1
    assert provider_requests(metrics, "files.create") >= 1
    retrieved = provider_requests(metrics, "fine_tuning.jobs.retrieve")
    assert retrieved >= 1
    assert "ftm_worker_task_duration_seconds_bucket" in httpx.get(metrics).text

    stack["stop"]()
    api_lines, worker_lines = (json_lines(stack["logs"][name]) for name in ("api", "worker"))
    assert any(line.get("event") == "http.request" and line.get("request_id") == LAUNCH_ID
               for line in api_lines)
    launched = [line for line in worker_lines if line.get("request_id") == LAUNCH_ID]
    assert {"task": "launch_job", "job_id": job_id, "event": "task.done",
            "outcome": "ok"}.items() <= next(
        line for line in launched if line.get("event") == "task.done").items()
    # Libraries' lines are JSON too; their per-task and per-request chatter is below INFO.
    assert any(line.get("logger", "").startswith("rq.") for line in worker_lines)
    assert any(line.get("logger", "").startswith("uvicorn") for line in api_lines)
    assert not [line for line in api_lines if line.get("logger") == "uvicorn.access"]
    everything = api_lines + worker_lines
    assert not [line for line in everything if "HTTP Request:" in str(line.get("event"))]
    assert not [line for line in worker_lines if line.get("task") == "sync_due_jobs"]
    assert_one_trace(api_lines, worker_lines)


def assert_one_trace(api_lines: list[dict[str, Any]], worker_lines: list[dict[str, Any]]) -> None:
    """The launch request's span (API) and its task's and provider call's spans (worker) share
    one trace."""
    def spans(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
        return [line for line in lines if line.get("name") == name and "context" in line]

    request = spans(api_lines, "POST /v1/jobs")
    assert len(request) == 1, "the launch request's span"
    trace_id = request[0]["context"]["trace_id"]
    task = [s for s in spans(worker_lines, "task launch_job")
            if s["context"]["trace_id"] == trace_id]
    assert len(task) == 1
    assert task[0]["kind"] == "SpanKind.CONSUMER"
    create = spans(worker_lines, "openai fine_tuning.jobs.create")
    assert [s["parent_id"] for s in create] == [task[0]["context"]["span_id"]]
