"""Jobs end to end: the API, in-process workers, real Redis and the emulator through the SDK."""

import pytest

from tests.factories import chat_dataset, drive_jobs
from tests.support.api import all_events, wait_terminal
from tests.support.emulator import stats
from tests.support.env import MODEL


@pytest.mark.smoke
def test_happy_path_to_succeeded(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth, 40)
    valid = chat_dataset(client, ctx, auth, 10)
    response = client.post("/v1/jobs", headers=auth, json={
        "model": MODEL, "training_dataset": train, "validation_dataset": valid,
        "suffix": "reflection", "hyperparameters": {"n_epochs": "auto"},
        "metadata": {"team": "search"}})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "pending"
    assert job["estimate"]["n_epochs"] == 3
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"

    final = wait_terminal(client, ctx, auth, job["id"])
    assert final["status"] == "succeeded", final
    assert final["fine_tuned_model"].startswith(f"ft:{MODEL}:")
    assert "reflection" in final["fine_tuned_model"]
    assert final["trained_tokens"] > 0
    assert final["cost_usd"] > 0
    assert final["provider"]["job_id"].startswith("ftjob-")
    assert final["progress"]["percent"] == 100.0

    events = all_events(client, auth, job["id"])
    statuses = [e["data"]["to"] for e in events if e["type"] == "status"]
    order = ["pending", "preparing", "validating_files", "queued", "running", "succeeded"]
    assert statuses == order, "every status once, in order, even those shorter than a sync"
    positions = [tuple(map(int, e["id"].removeprefix("ev_").split("-"))) for e in events]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    assert any(e["type"] == "metrics" and e["source"] == "openai" for e in events)

    metrics = client.get(f"/v1/jobs/{job['id']}/metrics", headers=auth).json()["data"]
    steps = [m["step"] for m in metrics]
    assert steps == sorted(steps)
    assert len(steps) > 1
    assert all(m["train_loss"] is not None for m in metrics)
    as_csv = client.get(f"/v1/jobs/{job['id']}/metrics?format=csv", headers=auth).text
    assert as_csv.splitlines()[0] == (
        "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy")
    assert len(as_csv.splitlines()) == len(metrics) + 1

    checkpoints = client.get(f"/v1/jobs/{job['id']}/checkpoints", headers=auth).json()["data"]
    assert checkpoints
    assert all(c["fine_tuned_model_checkpoint"].startswith("ft:") for c in checkpoints)

    counts = stats(emulator)
    assert counts["jobs"]["total"] == 1
    listed = client.get("/v1/jobs?metadata[team]=search", headers=auth).json()["data"]
    assert [j["id"] for j in listed] == [job["id"]]
    assert client.get("/v1/jobs?metadata[team]=other", headers=auth).json()["data"] == []


def jobs_gauge(client) -> dict[str, float]:
    lines = [line for line in client.get("/metrics/cluster").text.splitlines()
             if line.startswith("ftm_jobs{")]
    return {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in lines}


def test_metrics_count_jobs_by_status(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth, 10)
    ids = [client.post("/v1/jobs", headers=auth, json={"model": MODEL, "training_dataset": train})
           .json()["id"] for _ in range(3)]
    assert jobs_gauge(client)["pending"] == 3
    assert jobs_gauge(client)["succeeded"] == 0
    assert client.post(f"/v1/jobs/{ids[0]}/cancel", headers=auth).status_code == 202

    def finished():
        statuses = [client.get(f"/v1/jobs/{i}", headers=auth).json()["status"] for i in ids[1:]]
        return all(s == "succeeded" for s in statuses)

    drive_jobs(ctx, finished)
    gauge = jobs_gauge(client)
    assert gauge["succeeded"] == 2
    assert gauge["cancelled"] == 1
    assert sum(gauge.values()) == 3
