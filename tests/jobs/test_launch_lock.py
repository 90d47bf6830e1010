"""A launch's lock is short and renewed while the launch works: a live launch keeps it however
long it takes, a crashed one blocks its recovery for the short TTL only."""

import time

from service.store import locks
from tests.factories import chat_dataset
from tests.support.api import create_job
from tests.support.workers import die_at, syncing_worker_env


def test_a_renewed_lock_outlives_its_ttl_while_held_and_is_released_after(ctx):
    key = "ftm:lock:launch:job_x"
    with locks.hold_renewed(ctx.redis, "launch", "job_x", ttl=1.0) as held:
        assert held
        token = ctx.redis.get(key)
        until = time.monotonic() + 3.0  # three TTLs: without renewal the key would be gone
        while time.monotonic() < until:
            assert ctx.redis.get(key) == token
            assert 0 < ctx.redis.pttl(key) <= 1000
            time.sleep(0.05)
        with locks.hold_renewed(ctx.redis, "launch", "job_x", ttl=1.0) as other:
            assert not other
    assert ctx.redis.exists(key) == 0


def test_a_launch_killed_midway_blocks_recovery_for_the_short_ttl_only(client, ctx, auth,
                                                                      settings, emulator):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    env = syncing_worker_env(settings, emulator, FTM_LOG_LEVEL="WARNING")
    env.pop("FTM_LAUNCH_LOCK_SECONDS", None)
    die_at(ctx, env, "launch.after_upload")
    left = ctx.redis.pttl(f"ftm:lock:launch:{job['id']}")
    assert 0 < left <= settings.launch_lock_seconds * 1000 <= 30_000  # held, and not for ever
