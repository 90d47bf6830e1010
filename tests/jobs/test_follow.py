"""Following jobs: SSE, provider capacity, stalls, import, recovery after Redis lost a job."""

import threading

import httpx
import openai
import pytest

from service.jobs import recovery
from service.jobs.models import Job
from tests.factories import chat_dataset, chat_lines, drive_jobs, run_tasks
from tests.support.api import create_job, problem, status_of, wait_terminal
from tests.support.emulator import admin, stats
from tests.support.env import EMULATOR_KEY


def read_stream(url: str, headers: dict[str, str], frames: list[dict[str, str]]) -> None:
    """Collect SSE frames ({id, event, data}) until the server closes the stream."""
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        frame: dict[str, str] = {}
        for line in response.iter_lines():
            if not line:
                if frame:
                    frames.append(frame)
                frame = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                frame[name] = value


@pytest.mark.smoke
def test_sse_streams_every_event_then_end(client, ctx, auth, live_url):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    frames: list[dict[str, str]] = []
    reader = threading.Thread(target=read_stream, args=(
        f"{live_url}/v1/jobs/{job['id']}/events/stream", auth, frames))
    reader.start()
    drive_jobs(ctx, lambda: status_of(client, auth, job["id"])["status"] == "succeeded")
    reader.join(60)
    assert frames[-1]["event"] == "end"
    assert '"succeeded"' in frames[-1]["data"]
    events = frames[:-1]
    assert events[0]["event"] == "status"
    listed = client.get(f"/v1/jobs/{job['id']}/events?limit=100", headers=auth).json()
    total = listed["data"]
    while listed["has_more"]:
        listed = client.get(f"/v1/jobs/{job['id']}/events?limit=100&after={listed['last_id']}",
                            headers=auth).json()
        total += listed["data"]
    assert [f["id"] for f in events] == [e["id"] for e in total]
    # resume after an event id: only what follows it, then end
    middle = events[len(events) // 2]["id"]
    resumed: list[dict[str, str]] = []
    read_stream(f"{live_url}/v1/jobs/{job['id']}/events/stream",
                {**auth, "Last-Event-ID": middle}, resumed)
    assert [f.get("id") for f in resumed[:-1]] == [f["id"] for f in events[len(events) // 2 + 1:]]
    assert resumed[-1]["event"] == "end"


def test_capacity_refusals_wait_and_launch_in_creation_order(client, ctx, auth, emulator):
    admin(emulator, "faults", {"active_job_limit": 1})
    train = chat_dataset(client, ctx, auth)
    jobs = [create_job(client, auth, train, suffix=f"n{i}") for i in range(3)]
    run_tasks(ctx)
    waiting = [status_of(client, auth, j["id"]) for j in jobs[1:]]
    assert all(w["status"] == "pending" and w["pending_reason"] == "provider_capacity"
               for w in waiting), waiting
    drive_jobs(ctx, lambda: all(status_of(client, auth, j["id"])["status"] == "succeeded"
                                for j in jobs), timeout=90)
    remote = openai.OpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=0)
    newest_first = [j.metadata["ftm_job_id"] for j in remote.fine_tuning.jobs.list(limit=10)]
    assert newest_first[::-1] == [j["id"] for j in jobs]
    assert stats(emulator)["jobs"]["total"] == 3


def test_stalled_job_warns_once(client, ctx, auth, emulator):
    ctx.settings.__dict__["stall_seconds"] = 1
    admin(emulator, "faults", {"stall_next_jobs": 1})
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)

    def stall_events():
        events = client.get(f"/v1/jobs/{job['id']}/events?limit=100", headers=auth).json()["data"]
        return [e for e in events if e["data"].get("code") == "stalled"]

    found = drive_jobs(ctx, stall_events, timeout=30)
    assert found[0]["level"] == "warn"
    assert found[0]["data"]["idle_seconds"] > 1
    for _ in range(20):  # more syncs of the same stall add nothing
        drive_jobs(ctx, lambda: True)
    assert len(stall_events()) == 1
    assert client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth).status_code == 202
    assert wait_terminal(client, ctx, auth, job["id"])["status"] == "cancelled"


def test_import_follows_a_job_created_elsewhere(client, ctx, auth, emulator):
    remote = openai.OpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=0)
    file = remote.files.create(file=("t.jsonl", chat_lines(20).encode()), purpose="fine-tune")
    created = remote.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18",
                                             training_file=file.id, suffix="elsewhere")
    response = client.post("/v1/jobs/import", headers=auth, json={"provider_job_id": created.id})
    assert response.status_code == 202
    job = response.json()
    final = wait_terminal(client, ctx, auth, job["id"])
    assert final["status"] == "succeeded"
    assert "elsewhere" in final["fine_tuned_model"]
    again = client.post("/v1/jobs/import", headers=auth, json={"provider_job_id": created.id})
    problem(again, 409, "provider_job_already_tracked")


def test_reconcile_adopts_a_provider_job_redis_lost(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    run_tasks(ctx)
    launched = status_of(client, auth, job["id"])
    assert launched["provider"]["job_id"]
    project_id = ctx.store.get(Job, job["id"]).project_id
    ctx.store.delete(Job, job["id"], project_id)
    ctx.redis.delete("ftm:jobs:due")
    assert client.get(f"/v1/jobs/{job['id']}", headers=auth).status_code == 404
    counts = recovery.reconcile(ctx)
    assert counts["adopted"] == 1
    final = wait_terminal(client, ctx, auth, job["id"])
    assert final["status"] == "succeeded"
    assert final["provider"]["job_id"] == launched["provider"]["job_id"]
    assert stats(emulator)["jobs"]["total"] == 1
