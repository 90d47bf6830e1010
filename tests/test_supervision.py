"""`make run` starts a child that died again (after a pause) instead of stopping the stack."""

import os
import re
import signal

import httpx

from tests.factories import chat_lines, wait_until
from tests.support.env import TERMINAL
from tests.support.stack import make_run, port_of


def worker_pids(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for line in list(lines)
            if (m := re.match(r"the worker started \(pid (\d+)\)", line))]


def test_a_worker_killed_under_make_run_comes_back_and_jobs_still_finish(tmp_path):
    with make_run(tmp_path) as stack:
        key = (stack.line("API key: ") or "").strip()
        [first] = worker_pids(stack.lines)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: len(worker_pids(stack.lines)) == 2, timeout=60, every=0.2)
        assert any("the worker exited with code -9" in line for line in stack.lines)
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port_of(stack)}", headers=auth,
                          timeout=30) as api:
            dataset = api.post("/v1/datasets", files={"file": ("d.jsonl", chat_lines(20))})
            assert dataset.status_code == 201, dataset.text
            wait_until(lambda: api.get(f"/v1/datasets/{dataset.json()['id']}").json()
                       ["status"] == "ready", timeout=60, every=0.2)  # by the new worker
            job = api.post("/v1/jobs", json={"model": "gpt-4o-mini-2024-07-18",
                                             "training_dataset": dataset.json()["id"]})
            assert job.status_code == 202, job.text
            final = wait_until(lambda: (j := api.get(f"/v1/jobs/{job.json()['id']}").json())
                               ["status"] in TERMINAL and j,
                               timeout=120, every=0.5)
        assert final["status"] == "succeeded"
