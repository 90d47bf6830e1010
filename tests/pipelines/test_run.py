"""Pipelines end to end: one call from a CSV to a compared fine-tuned model, and how they stop."""

import threading

import pytest
from standardwebhooks import Webhook as Verifier

from service.evaluations.scoring import normalize
from service.pipelines import run
from service.pipelines import service as pipelines
from service.store import keys, locks
from tests.datagen import reflections_csv
from tests.factories import chat_dataset, upload
from tests.support.api import problem
from tests.support.emulator import set_faults, stats
from tests.support.env import MODEL, worker_env
from tests.support.pipelines import CONVERT, STRATIFIED, create, drive, get, steps
from tests.support.workers import die_at

RANDOM_SPLIT = {"fractions": {"train": 0.8, "test": 0.2}, "seed": 3}


def test_csv_to_evaluation_in_one_call_the_fine_tuned_model_wins(client, ctx, auth, emulator,
                                                                 reflections):
    created = create(client, auth, dataset=reflections["id"], convert=CONVERT,
                     split=STRATIFIED, job={"model": MODEL, "suffix": "reflection"},
                     evaluate={"max_tokens": 10})
    assert created["object"] == "pipeline"
    assert created["id"].startswith("pipe_")
    assert created["status"] == "running"
    assert [(s["name"], s["status"]) for s in created["steps"]] == [
        ("convert", "pending"), ("split", "pending"), ("job", "pending"), ("evaluate", "pending")]

    pipeline = drive(client, ctx, auth, created["id"])

    assert pipeline["status"] == "succeeded", pipeline
    assert pipeline["finished_at"] is not None
    step = steps(pipeline)
    assert {s["status"] for s in step.values()} == {"succeeded"}
    assert all(s["error"] is None for s in step.values())
    paths = {"convert": "datasets", "split": "datasets", "job": "jobs", "evaluate": "evaluations"}
    for name, path in paths.items():
        response = client.get(f"/v1/{path}/{step[name]['resource_id']}", headers=auth)
        assert response.status_code == 200, (name, response.text)
    chat = client.get(f"/v1/datasets/{step['convert']['resource_id']}", headers=auth).json()
    assert chat["parent_id"] == reflections["id"]
    assert chat["format"] == "chat"
    parts = {part: client.get(f"/v1/datasets/{dataset_id}", headers=auth).json()
             for part, dataset_id in step["split"]["parts"].items()}
    assert set(parts) == {"train", "validation", "test"}
    assert step["split"]["resource_id"] == parts["train"]["id"]
    assert {p["parent_id"] for p in parts.values()} == {chat["id"]}
    job = client.get(f"/v1/jobs/{step['job']['resource_id']}", headers=auth).json()
    assert job["status"] == "succeeded"
    assert job["training_dataset"] == parts["train"]["id"]
    assert job["validation_dataset"] == parts["validation"]["id"]
    assert job["metadata"] == {"pipeline_id": pipeline["id"]}

    evaluation = client.get(f"/v1/evaluations/{step['evaluate']['resource_id']}",
                            headers=auth).json()
    tuned, base = job["fine_tuned_model"], job["model"]
    assert evaluation["dataset"] == parts["test"]["id"]
    assert evaluation["models"] == [tuned, base]
    assert evaluation["max_tokens"] == 10
    assert evaluation["scoring"] == "label"
    results = evaluation["results"]
    assert results[tuned]["accuracy"] > results[base]["accuracy"]
    assert evaluation["comparison"]["best_model"] == tuned
    examples = parts["test"]["rows"]
    test_labels = split_labels(client, auth, parts["test"]["id"])
    assert sum(test_labels.values()) == examples
    for model in (tuned, base):
        matrix = results[model]["confusion_matrix"]["matrix"]
        assert sum(map(sum, matrix)) == examples
        support = {label: s["support"] for label, s in results[model]["per_label"].items()
                   if s["support"]}
        assert support == {normalize(label): n for label, n in test_labels.items()}
    counts = stats(emulator)
    assert counts["jobs"]["total"] == 1
    assert counts["chat_completions"]["by_model"] == {tuned: examples, base: examples}


def split_labels(client, auth, dataset_id: str) -> dict[str, int]:
    """The test part's label counts, read from its rows: the last assistant message of each."""
    counts: dict[str, int] = {}
    offset = 0
    while True:
        page = client.get(f"/v1/datasets/{dataset_id}/rows?offset={offset}&limit=100",
                          headers=auth).json()
        for row in page["data"]:
            label = row["data"]["messages"][-1]["content"]
            counts[label] = counts.get(label, 0) + 1
        if len(page["data"]) < 100:
            return counts
        offset += 100


@pytest.mark.settings(inline_validation_bytes=0)  # derived datasets validate in a task
def test_a_failed_job_fails_the_pipeline_with_its_error_and_runs_nothing_after(
        client, ctx, auth, emulator, reflections):
    set_faults(emulator, fail_next_jobs={"count": 1, "code": "training_error",
                                         "message": "Training diverged."})
    created = create(client, auth, dataset=reflections["id"], convert=CONVERT,
                     split=STRATIFIED, job={"model": MODEL}, evaluate={"max_tokens": 10})
    pipeline = drive(client, ctx, auth, created["id"])

    assert pipeline["status"] == "failed", pipeline
    step = steps(pipeline)
    assert step["convert"]["status"] == step["split"]["status"] == "succeeded"
    assert step["job"]["status"] == "failed"
    assert step["job"]["error"] == {"code": "training_error", "message": "Training diverged."}
    assert step["evaluate"]["status"] == "skipped"
    assert step["evaluate"]["resource_id"] is None
    job = client.get(f"/v1/jobs/{step['job']['resource_id']}", headers=auth).json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "training_error"
    for name in ("convert", "split"):
        dataset = client.get(f"/v1/datasets/{step[name]['resource_id']}", headers=auth)
        assert dataset.status_code == 200
        assert dataset.json()["status"] == "ready"
    assert client.get("/v1/evaluations", headers=auth).json()["data"] == []
    assert stats(emulator)["chat_completions"]["total"] == 0


def test_a_convert_naming_a_missing_column_fails_once_the_csv_is_validated(client, ctx, auth,
                                                                         emulator, tmp_path):
    data = reflections_csv(tmp_path / "reflections.csv", rows=40)
    uploaded = upload(client, auth, data.path.read_bytes(), filename="reflections.csv").json()
    assert uploaded["status"] == "processing"  # its columns are not known yet
    created = create(client, auth, dataset=uploaded["id"], convert={**CONVERT, "user": "{Essay}"},
                     split=STRATIFIED, job={"model": MODEL}, evaluate={})
    pipeline = drive(client, ctx, auth, created["id"])

    assert pipeline["status"] == "failed"
    assert [(s["name"], s["status"]) for s in pipeline["steps"]] == [
        ("convert", "failed"), ("split", "skipped"), ("job", "skipped"), ("evaluate", "skipped")]
    error = steps(pipeline)["convert"]["error"]
    assert error["code"] == "unknown_column"
    assert "'Essay'" in error["message"]
    assert client.get("/v1/jobs", headers=auth).json()["data"] == []
    assert stats(emulator)["jobs"]["total"] == 0


def test_cancel_mid_job_cancels_the_job_and_skips_the_rest(client, ctx, auth, emulator):
    set_faults(emulator, stall_next_jobs=1)
    train = chat_dataset(client, ctx, auth)
    created = create(client, auth, dataset=train, split=RANDOM_SPLIT, job={"model": MODEL},
                     evaluate={})

    def job_running(pipeline):
        job_id = steps(pipeline)["job"]["resource_id"]
        return job_id and client.get(f"/v1/jobs/{job_id}", headers=auth).json()[
            "status"] == "running"

    running = drive(client, ctx, auth, created["id"], until=job_running)
    assert running["status"] == "running"
    assert steps(running)["job"]["status"] == "running"
    response = client.post(f"/v1/pipelines/{created['id']}/cancel", headers=auth)

    assert response.status_code == 202, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["finished_at"] is not None
    assert [(s["name"], s["status"]) for s in cancelled["steps"]] == [
        ("split", "succeeded"), ("job", "cancelled"), ("evaluate", "skipped")]
    job_id = steps(cancelled)["job"]["resource_id"]
    drive(client, ctx, auth, created["id"], until=lambda _: client.get(
        f"/v1/jobs/{job_id}", headers=auth).json()["status"] == "cancelled")
    assert stats(emulator)["jobs"]["by_status"] == {"cancelled": 1}
    assert get(client, auth, created["id"])["status"] == "cancelled"
    assert stats(emulator)["chat_completions"]["total"] == 0
    again = client.post(f"/v1/pipelines/{created['id']}/cancel", headers=auth)
    problem(again, 409, "invalid_pipeline_state")


def test_pipeline_completed_webhook_is_delivered_signed(client, ctx, auth, emulator,
                                                        receiver):
    hook = client.post("/v1/webhooks", headers=auth, json={
        "url": receiver.url(), "events": ["pipeline.completed"]}).json()
    train = chat_dataset(client, ctx, auth)
    created = create(client, auth, dataset=train, job={"model": MODEL})
    assert [s["name"] for s in created["steps"]] == ["job"]  # steps not asked for are left out

    pipeline = drive(client, ctx, auth, created["id"])
    assert pipeline["status"] == "succeeded", pipeline
    drive(client, ctx, auth, created["id"], until=lambda _: receiver.requests)

    payloads = [Verifier(hook["secret"]).verify(r.body, r.headers) for r in receiver.requests]
    assert [p["type"] for p in payloads] == ["pipeline.completed"]
    sent = payloads[0]["data"]["pipeline"]
    assert sent["id"] == created["id"]
    assert sent["status"] == "succeeded"
    assert sent["steps"][0]["resource_id"] == steps(pipeline)["job"]["resource_id"]


def test_advancing_twice_at_once_creates_one_job(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth)
    created = create(client, auth, dataset=train, job={"model": MODEL})
    ctx.queue.empty()  # the advance runs here, twice at the same time, then twice more
    start = threading.Barrier(2)

    def advance():
        start.wait()
        run.advance(ctx, created["id"])

    threads = [threading.Thread(target=advance) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.advance(ctx, created["id"])
    with locks.hold(ctx.redis, "pipeline", created["id"], ttl=60):
        run.advance(ctx, created["id"])  # another holds it: does nothing

    job_id = steps(get(client, auth, created["id"]))["job"]["resource_id"]
    assert [job["id"] for job in client.get("/v1/jobs", headers=auth).json()["data"]] == [job_id]
    pipeline = drive(client, ctx, auth, created["id"])
    assert pipeline["status"] == "succeeded", pipeline
    assert stats(emulator)["jobs"]["total"] == 1


def test_a_worker_killed_after_creating_the_job_resumes_with_that_job(client, ctx, auth,
                                                                      emulator, settings):
    train = chat_dataset(client, ctx, auth)
    created = create(client, auth, dataset=train, job={"model": MODEL})
    die_at(ctx, worker_env(settings, emulator), "pipeline.job.made")
    crashed = steps(get(client, auth, created["id"]))["job"]
    assert crashed["status"] == "running"
    assert crashed["resource_id"] is None
    made = client.get("/v1/jobs", headers=auth).json()["data"]
    assert len(made) == 1

    ctx.redis.zadd(keys.pipelines_due(), {created["id"]: 0})  # its advance is overdue
    assert pipelines.requeue_overdue(ctx) == 0, "not while the dead advance's lock holds"
    ctx.redis.delete(keys.lock("pipeline", created["id"]))  # the lock lapses
    assert pipelines.requeue_overdue(ctx) == 1
    pipeline = drive(client, ctx, auth, created["id"])

    assert pipeline["status"] == "succeeded", pipeline
    assert steps(pipeline)["job"]["resource_id"] == made[0]["id"]
    assert len(client.get("/v1/jobs", headers=auth).json()["data"]) == 1
    assert stats(emulator)["jobs"]["total"] == 1
    assert ctx.redis.zscore(keys.pipelines_due(), created["id"]) is None
