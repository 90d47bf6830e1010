"""The provider down for longer than the gateway's retry budget, with jobs in every phase:
one running, one queued at the provider, one launching. They wait, then all succeed, with one
provider job each and no event recorded twice."""

import time
from collections import Counter

import openai
import pytest

from tests.factories import chat_dataset, wait_until
from tests.support.api import all_events, create_job, status_of
from tests.support.emulator import admin, read
from tests.support.env import EMULATOR_KEY, TERMINAL
from tests.support.workers import start_worker, stop_worker, syncing_worker_env

MAX_RETRIES = 2
DOWN = {"error_fraction": 1.0, "error_status": 503, "retry_after_ms": 10}


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "openai_max_retries": MAX_RETRIES,
            "rate_limit_per_minute": 100_000}


@pytest.fixture
def worker(settings, emulator, tmp_path):
    log = tmp_path / "worker.log"
    env = syncing_worker_env(settings, emulator, FTM_OPENAI_MAX_RETRIES=str(MAX_RETRIES),
                     FTM_OPENAI_RETRY_BASE_SECONDS="0.01", FTM_PROVIDER_RETRY_SECONDS="0.5",
                     FTM_SYNC_INTERVAL_RUNNING_SECONDS="0.2",
                     FTM_SYNC_INTERVAL_QUEUED_SECONDS="0.2")
    process = start_worker(env, log)
    yield process
    stop_worker(process)  # never left behind to take the next tests' tasks


def refused_since(emulator: str, start: int, path: str) -> int:
    """How many requests under path the emulator failed, counting from request number start."""
    log = read(emulator, "requests", limit=100_000)["data"][start:]
    return sum(1 for r in log if r["fault"] and r["path"].startswith(path))


def provider_job(emulator: str, job_id: str) -> dict | None:
    mine = [j for j in read(emulator, "jobs")["data"] if j["metadata"].get("ftm_job_id") == job_id]
    return mine[0] if mine else None


def test_jobs_in_every_phase_wait_out_a_provider_outage(client, ctx, auth, emulator, worker):
    train = chat_dataset(client, ctx, auth, 20)
    admin(emulator, "config", {"speed": 5})  # slow enough for a sync to see it running
    running = create_job(client, auth, train, suffix="running")["id"]
    wait_until(lambda: status_of(client, auth, running)["status"] == "running", timeout=120)
    admin(emulator, f"jobs/{provider_job(emulator, running)['id']}/stall", {"stalled": True})
    admin(emulator, "config", {"speed": 50})
    admin(emulator, "faults", {"stall_next_jobs": 1})
    queued = create_job(client, auth, train, suffix="queued")["id"]
    wait_until(lambda: status_of(client, auth, queued)["provider"]["job_id"], timeout=120)

    start = len(read(emulator, "requests", limit=100_000)["data"])
    admin(emulator, "faults", DOWN)
    went_down = time.monotonic()
    launching = create_job(client, auth, train, suffix="launching")["id"]
    budget = MAX_RETRIES + 1
    # Down until the gateway has given up at least twice on each: syncs and the new launch.
    for path in (f"/v1/fine_tuning/jobs/{provider_job(emulator, running)['id']}",
                 f"/v1/fine_tuning/jobs/{provider_job(emulator, queued)['id']}", "/v1/files"):
        wait_until(lambda path=path: refused_since(emulator, start, path) >= 2 * budget + 1,
                   timeout=240, every=0.5)
    print(f"provider down {time.monotonic() - went_down:.1f} s: "
          f"{len(read(emulator, 'requests', limit=100_000)['data']) - start} requests refused")
    during = {job: status_of(client, auth, job)["status"] for job in (running, queued, launching)}
    admin(emulator, "faults", {"error_fraction": 0.0})
    for job in (running, queued):
        admin(emulator, f"jobs/{provider_job(emulator, job)['id']}/stall", {"stalled": False})

    def finished():
        found = [status_of(client, auth, job) for job in (running, queued, launching)]
        return found if all(j["status"] in TERMINAL for j in found) \
            else None

    final = wait_until(finished, timeout=300, every=0.5)
    assert during == {running: "running", queued: "validating_files",
                      launching: during[launching]}, during
    assert during[launching] in ("pending", "preparing")
    assert [j["status"] for j in final] == ["succeeded"] * 3, [j["error"] for j in final]

    tags = Counter(j["metadata"].get("ftm_job_id") for j in read(emulator, "jobs")["data"])
    assert {job: tags[job] for job in (running, queued, launching)} == {
        running: 1, queued: 1, launching: 1}
    remote = openai.OpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=5)
    for job in final:
        ours = all_events(client, auth, job["id"])
        mirrored = [(e["created_at"], e["message"]) for e in ours
                    if e["source"] == "openai" and e["type"] != "checkpoint"]
        provider_events = remote.fine_tuning.jobs.list_events(job["provider"]["job_id"], limit=1000)
        assert mirrored == [(e.created_at, e.message) for e in reversed(list(provider_events))]
        moves = [(e["data"]["from"], e["data"]["to"]) for e in ours if e["type"] == "status"]
        assert len(moves) == len(set(moves)), moves
        assert all(e["level"] != "error" for e in ours), job["id"]
