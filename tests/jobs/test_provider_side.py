"""What reaches the provider and what never leaves it: large files in parts, the provider key."""

import math

import pytest

from tests.factories import chat_dataset
from tests.support.api import create_job, wait_terminal
from tests.support.emulator import admin, requests_log, stats

SECRET_KEY = "sk-proj-never-show-me-0123456789abcdef"
PART_BYTES = 700


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "openai_api_key": SECRET_KEY, "log_level": "INFO",
            "openai_uploads_api_above_bytes": 1000, "openai_upload_part_bytes": PART_BYTES}


def requests_to(emulator: str, fragment: str) -> list[dict]:
    log = requests_log(emulator, limit=10000)
    return [r for r in log if fragment in r["path"]]


def test_a_file_above_the_threshold_goes_through_the_uploads_api_in_parts(client, ctx, auth,
                                                                          emulator):
    train = chat_dataset(client, ctx, auth, 30)
    size = client.get(f"/v1/datasets/{train}", headers=auth).json()["bytes"]
    assert size > 1000
    job = create_job(client, auth, train)
    assert wait_terminal(client, ctx, auth, job["id"])["status"] == "succeeded"
    assert stats(emulator)["uploads"] == {"total": 1, "by_status": {"completed": 1}}
    parts = [r for r in requests_to(emulator, "/v1/uploads/") if r["path"].endswith("/parts")
             and r["status"] == 200]
    assert len(parts) == math.ceil(size / PART_BYTES)
    assert not [r for r in requests_to(emulator, "/v1/files") if r["method"] == "POST"]


def redis_dump(redis_client) -> str:
    """Every value in the test's Redis, as text."""
    texts = []
    for key in redis_client.scan_iter(count=1000):
        kind = redis_client.type(key).decode()
        if kind == "string":
            texts.append(redis_client.get(key))
        elif kind == "hash":
            texts.append(repr(redis_client.hgetall(key)))
        elif kind == "list":
            texts.append(repr(redis_client.lrange(key, 0, -1)))
        elif kind == "zset":
            texts.append(repr(redis_client.zrange(key, 0, -1)))
        elif kind == "set":
            texts.append(repr(redis_client.smembers(key)))
        elif kind == "stream":
            texts.append(repr(redis_client.xrange(key)))
    return "\n".join(t.decode(errors="replace") if isinstance(t, bytes) else str(t)
                     for t in texts)


def test_the_provider_key_never_appears_in_answers_events_logs_or_redis(
        client, ctx, auth, emulator, redis_client, capfd):
    admin(emulator, "faults", {
        "fail_next_jobs": {"count": 1, "code": "invalid_training_file",
                           "message": "Bad file."}})
    train = chat_dataset(client, ctx, auth, 12)
    answers = []
    for suffix in ("fails", "works"):
        job = create_job(client, auth, train, suffix=suffix)
        final = wait_terminal(client, ctx, auth, job["id"])
        answers += [client.get(f"/v1/jobs/{job['id']}{path}", headers=auth).text
                    for path in ("", "/events?limit=100", "/metrics", "/checkpoints")]
        answers.append(final["status"])
    assert answers.count("failed") == 1
    assert answers.count("succeeded") == 1
    answers.append(client.get("/v1/jobs", headers=auth).text)
    answers.append(client.get("/v1/models", headers=auth).text)
    logs = capfd.readouterr()
    assert "job." in logs.out + logs.err, "the service logged nothing: the check would be empty"
    assert requests_to(emulator, "/fine_tuning/jobs"), "the key was used"
    for text in (*answers, logs.out, logs.err, redis_dump(redis_client)):
        assert SECRET_KEY not in text
        assert SECRET_KEY[8:] not in text
