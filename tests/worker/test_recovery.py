"""The worker outlives a Redis outage: its sweeps come back, jobs in flight still finish, its
health check follows its sweep loop, and one worker at a time runs the sweeps."""

import time

import pytest

from tests.factories import chat_dataset, wait_until
from tests.support.api import create_job
from tests.support.emulator import admin
from tests.support.workers import check_worker, start_worker, stop_worker, syncing_worker_env
from worker import health


@pytest.fixture
def redis_url(own_redis):
    """This module's tests stop and start Redis: each gets a server of its own."""
    return own_redis.url


@pytest.fixture
def settings_overrides(emulator):
    return {"sweeps_stale_seconds": 5, "rate_limit_per_minute": 100_000}


def statuses(client, auth, job_ids):
    answer = client.get("/v1/jobs", params={"limit": 100}, headers=auth)
    assert answer.status_code == 200, answer.text
    found = {j["id"]: j["status"] for j in answer.json()["data"]}
    return [found[job_id] for job_id in job_ids]


def test_jobs_finish_and_sweeps_live_on_after_redis_restarts(client, ctx, auth, emulator,
                                                              settings, own_redis, tmp_path):
    env = syncing_worker_env(settings, emulator)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        train = chat_dataset(client, ctx, auth)
        admin(emulator, "faults", {"stall_next_jobs": 3})  # held running until let go below
        jobs = [create_job(client, auth, train, suffix=f"r{i}")["id"] for i in range(3)]
        wait_until(lambda: statuses(client, auth, jobs) == ["running"] * 3, timeout=60)
        own_redis.stop()
        time.sleep(3)  # the outage itself, not a wait for anything
        own_redis.start()
        restarted = time.time()
        for job_id in jobs:  # the first reads may still meet connections from before (503)
            answer = wait_until(lambda job_id=job_id: (r := client.get(
                f"/v1/jobs/{job_id}", headers=auth)).status_code == 200 and r, timeout=30)
            admin(emulator, f"jobs/{answer.json()['provider']['job_id']}/stall",
                  {"stalled": False})
        final = wait_until(lambda: (s := statuses(client, auth, jobs))
                           and all(x in ("succeeded", "failed") for x in s) and s, timeout=120)
        assert final == ["succeeded"] * 3
        assert worker.poll() is None
        wait_until(lambda: (beat := health.read(settings)) and beat["at"] > restarted
                   and beat["role"] == "leader", timeout=30)
        assert check_worker(env).returncode == 0
    finally:
        stop_worker(worker)


def test_health_check_fails_once_the_sweeps_stop(ctx, settings, emulator, tmp_path):
    env = syncing_worker_env(settings, emulator)
    assert check_worker(env).returncode == 1  # no worker yet
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: check_worker(env).returncode == 0, timeout=60, every=0.5)
    finally:
        stop_worker(worker)
    answer = wait_until(lambda: (c := check_worker(env)).returncode == 1 and c, timeout=30,
                        every=0.5)
    assert "sweep" in answer.stdout


def test_one_worker_leads_the_sweeps_and_another_takes_over(ctx, settings, emulator, tmp_path):
    env = syncing_worker_env(settings, emulator)
    first = start_worker(env, tmp_path / "first.log")
    second = None
    try:
        leader = wait_until(lambda: ctx.redis.get("ftm:lock:sweeps:leader"), timeout=60)
        second = start_worker(env, tmp_path / "second.log")
        # Both loops beat the same file on this host: the second one's beat says standby.
        wait_until(lambda: (beat := health.read(settings)) and beat["role"] == "standby",
                   timeout=60)
        assert ctx.redis.get("ftm:lock:sweeps:leader") == leader
        stop_worker(first)
        wait_until(lambda: (held := ctx.redis.get("ftm:lock:sweeps:leader"))
                   and held != leader, timeout=30)
        wait_until(lambda: (beat := health.read(settings)) and beat["role"] == "leader",
                   timeout=30)
        assert second.poll() is None
    finally:
        stop_worker(first)
        if second is not None:
            stop_worker(second)
