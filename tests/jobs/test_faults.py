"""50 jobs through two worker processes while the provider fails 20% of calls, slowly."""

import os
import time
from collections import Counter

import openai
import pytest

from tests.factories import chat_dataset, wait_until
from tests.support.api import create_job
from tests.support.emulator import admin, requests_log
from tests.support.env import EMULATOR_KEY, TERMINAL
from tests.support.workers import start_worker, stop_worker, syncing_worker_env

JOBS = int(os.environ.get("FTM_TEST_FAULT_JOBS", "50"))
CAP_PER_MINUTE = 3000


@pytest.fixture
def settings_overrides(settings_overrides):
    """Polling 50 jobs stays within the service's own per-key rate limit."""
    return {**settings_overrides, "rate_limit_per_minute": 100_000}


@pytest.fixture
def workers(settings, emulator, tmp_path):
    log = tmp_path / "workers.log"
    env = syncing_worker_env(settings, emulator, FTM_LOG_LEVEL="WARNING",
                     FTM_OPENAI_REQUESTS_PER_MINUTE=str(CAP_PER_MINUTE),
                     FTM_OPENAI_MAX_RETRIES="8", FTM_SYNC_INTERVAL_RUNNING_SECONDS="0.5",
                     FTM_SYNC_INTERVAL_QUEUED_SECONDS="0.5")
    procs = [start_worker(env, log, *(["--no-cron"] if i else [])) for i in range(2)]
    yield procs
    for proc in procs:  # never left behind to take the next tests' tasks
        stop_worker(proc)


def test_fifty_jobs_finish_under_provider_faults(client, ctx, auth, emulator, workers):
    train = chat_dataset(client, ctx, auth, 20)
    admin(emulator, "faults", {"rate_limit_fraction": 0.1, "error_fraction": 0.1,
                               "retry_after_ms": 50, "latency_ms": 20, "seed": 7})
    jobs = [create_job(client, auth, train, suffix=f"j{i}")["id"] for i in range(JOBS)]

    def all_terminal():
        found = client.get("/v1/jobs", params={"limit": 100}, headers=auth).json()["data"]
        found = sorted(found, key=lambda job: jobs.index(job["id"]))
        if os.environ.get("FTM_TEST_VERBOSE"):
            print(time.strftime("%X"), Counter(f["status"] for f in found),
                  ctx.redis.llen("rq:queue:ftm"), flush=True)
        return found if all(f["status"] in TERMINAL for f in found) else None

    final = wait_until(all_terminal, timeout=600, every=1)
    admin(emulator, "faults", {})
    assert [f["status"] for f in final] == ["succeeded"] * JOBS
    # Before the checks below make provider calls of their own, outside the service:
    log = requests_log(emulator, limit=100000)

    remote = openai.OpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=5)
    for job in final:
        provider_events = list(remote.fine_tuning.jobs.list_events(job["provider"]["job_id"],
                                                                   limit=1000))
        ours, after = [], ""
        while True:
            page = client.get(f"/v1/jobs/{job['id']}/events?limit=100{after}", headers=auth).json()
            ours += page["data"]
            if not page["has_more"]:
                break
            after = f"&after={page['last_id']}"
        mirrored = [(e["created_at"], e["message"]) for e in ours
                    if e["source"] == "openai" and e["type"] != "checkpoint"]
        assert mirrored == [(e.created_at, e.message) for e in reversed(provider_events)]

    # The cap holds by the limiter's own clock: every provider request took a token, and the
    # tokens given out in any 5 whole seconds are at most the burst plus 5 s of refill.
    grants = granted_per_second(ctx)
    assert len(log) <= sum(grants.values()), "a provider request bypassed the limiter"
    rate, burst, window = CAP_PER_MINUTE / 60, CAP_PER_MINUTE / 60, 5
    for start in grants:
        taken = sum(grants.get(second, 0) for second in range(start, start + window))
        assert taken <= burst + rate * window, f"{taken} tokens in {window} s from {start}"
    assert any(r["fault"] for r in log), "no fault was injected"


def granted_per_second(ctx) -> dict[int, float]:
    prefix = "ftm:bucket:openai:granted:"
    found = {}
    for key in ctx.redis.scan_iter(match=prefix + "*", count=1000):
        found[int(key.decode().removeprefix(prefix))] = float(ctx.redis.get(key) or 0)
    return found
