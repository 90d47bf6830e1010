"""Online evaluations end to end: the API, in-process RQ, real Redis, the emulator via the SDK."""

import subprocess
import sys

import pytest

from service.datasets.pricing import load_prices
from service.evaluations import service
from service.evaluations.scoring import normalize
from service.store import keys
from tests.datagen import LEVELS, SYSTEM, USER_TEMPLATE, reflections_csv
from tests.factories import ready_dataset, wait_until
from tests.support.api import problem
from tests.support.emulator import set_faults, stats
from tests.support.env import ROOT, worker_env
from tests.support.evaluations import all_predictions, create, finish, get, succeeded_job, work
from tests.support.workers import die_at

CONVERT = {"name": "reflections-chat", "system": SYSTEM, "user": USER_TEMPLATE,
           "assistant": "{Final}", "value_maps": {"Final": LEVELS}, "on_empty": "skip"}


@pytest.mark.smoke
def test_csv_to_job_to_evaluation_the_fine_tuned_model_wins(client, ctx, auth, emulator,
                                                             tmp_path):
    reflections = reflections_csv(tmp_path / "reflections.csv", rows=200)
    csv_ds = ready_dataset(client, ctx, auth, reflections.path, name="reflections")
    chat = client.post(f"/v1/datasets/{csv_ds['id']}/convert", headers=auth, json=CONVERT)
    assert chat.status_code == 201, chat.text
    split = client.post(f"/v1/datasets/{chat.json()['id']}/split", headers=auth, json={
        "strategy": "stratified", "fractions": {"train": 0.8, "validation": 0.1, "test": 0.1},
        "seed": 1, "label": "assistant"})
    assert split.status_code == 201, split.text
    parts, labels = split.json()["splits"], split.json()["labels"]
    job = succeeded_job(client, ctx, auth, parts["train"]["id"],
                        validation_dataset=parts["validation"]["id"], suffix="reflection")

    created = create(client, auth, dataset=parts["test"]["id"], job=job["id"], max_tokens=10)
    tuned, base = job["fine_tuned_model"], job["model"]
    assert created["status"] == "queued"
    assert created["models"] == [tuned, base]
    assert created["scoring"] == "label"
    assert created["mode"] == "online"
    evaluation = finish(client, ctx, auth, created["id"])

    assert evaluation["status"] == "succeeded", evaluation
    examples = parts["test"]["rows"]
    assert evaluation["progress"] == {"done": 2 * examples, "total": 2 * examples}
    results = evaluation["results"]
    assert results[tuned]["accuracy"] > results[base]["accuracy"]
    comparison = evaluation["comparison"]
    assert comparison["best_model"] == tuned
    assert comparison["accuracy_delta"] == pytest.approx(
        results[tuned]["accuracy"] - results[base]["accuracy"])
    assert comparison["flips"]["fixed"] > comparison["flips"]["broken"]
    expected_support = {normalize(label): n for label, n in labels["test"].items()}
    for model in (tuned, base):
        matrix = results[model]["confusion_matrix"]
        assert sum(map(sum, matrix["matrix"])) == examples
        support = {label: s["support"] for label, s in results[model]["per_label"].items()
                   if s["support"]}
        assert support == expected_support
        assert results[model]["prompt_tokens"] > 0
        assert results[model]["mean_latency_ms"] > 0
    prices = load_prices(ctx.settings.price_table)
    assert results[tuned]["cost_usd"] == prices.inference_cost(
        tuned, results[tuned]["prompt_tokens"], results[tuned]["completion_tokens"])
    assert stats(emulator)["chat_completions"]["by_model"] == {tuned: examples, base: examples}


@pytest.mark.settings(openai_max_retries=12, openai_retry_base_seconds=0.001)
def test_provider_faults_still_answer_every_example_exactly_once(client, ctx, auth, tuned,
                                                                 emulator):
    set_faults(emulator, error_fraction=0.1, rate_limit_fraction=0.1, retry_after_ms=10, seed=7)
    created = create(client, auth, dataset=tuned["dataset"], job=tuned["job"]["id"],
                     concurrency=16)
    evaluation = finish(client, ctx, auth, created["id"])

    assert evaluation["status"] == "succeeded", evaluation
    faulted = [p for p in all_predictions(client, auth, created["id"]) if p["error"]]
    assert faulted == []
    counts = stats(emulator)
    assert counts["chat_completions"]["by_model"] == {tuned["model"]: 30,
                                                      tuned["job"]["model"]: 30}
    assert counts["requests"]["total"] > 60  # the faults did happen, and were retried


def test_worker_killed_mid_evaluation_resumes_without_asking_again(client, ctx, auth, tuned,
                                                                  emulator, settings):
    created = create(client, auth, dataset=tuned["dataset"], job=tuned["job"]["id"],
                     concurrency=1)
    die_at(ctx, worker_env(settings, emulator, FTM_EVALUATION_LOCK_SECONDS="4"),
           "evaluation.after_some")
    crashed = get(client, auth, created["id"])
    assert crashed["status"] == "running"
    assert crashed["progress"] == {"done": 10, "total": 60}
    assert stats(emulator)["chat_completions"]["total"] == 10

    evaluation = finish(client, ctx, auth, created["id"])
    assert evaluation["status"] == "succeeded", evaluation
    assert stats(emulator)["chat_completions"]["by_model"] == {tuned["model"]: 30,
                                                               tuned["job"]["model"]: 30}


@pytest.mark.settings(openai_max_retries=1)
def test_every_request_failing_fails_the_evaluation(client, ctx, auth, tuned, emulator):
    set_faults(emulator, error_fraction=1.0, error_status=503, retry_after_ms=0)
    created = create(client, auth, dataset=tuned["dataset"], models=[tuned["model"]],
                     max_examples=5)
    evaluation = finish(client, ctx, auth, created["id"])
    assert evaluation["status"] == "failed"
    assert evaluation["results"] is None
    assert evaluation["error"]["code"] == "provider_unavailable"
    predictions = all_predictions(client, auth, created["id"])
    assert len(predictions) == 5
    assert all(p["invalid"] and p["error"] for p in predictions)


def test_completion_sends_the_evaluation_completed_webhook(client, ctx, auth, tuned, emulator):
    hook = client.post("/v1/webhooks", headers=auth, json={
        "url": "http://127.0.0.1:9/hook", "events": ["evaluation.completed"]}).json()
    created = create(client, auth, dataset=tuned["dataset"], models=[tuned["model"]],
                     max_examples=6)
    evaluation = finish(client, ctx, auth, created["id"])
    assert evaluation["status"] == "succeeded"
    assert evaluation["comparison"] is None
    assert evaluation["progress"]["total"] == 6
    deliveries = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth).json()
    assert [d["event_type"] for d in deliveries["data"]] == ["evaluation.completed"]


def test_cancel_stops_a_running_evaluation(client, ctx, auth, tuned, emulator, settings):
    set_faults(emulator, latency_ms=100)
    created = create(client, auth, dataset=tuned["dataset"], job=tuned["job"]["id"],
                     concurrency=1)
    worker = subprocess.Popen([sys.executable, "-m", "worker", "--burst"], cwd=ROOT,
                              env=worker_env(settings, emulator), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: get(client, auth, created["id"])["progress"]["done"] >= 3)
        response = client.post(f"/v1/evaluations/{created['id']}/cancel", headers=auth)
        assert response.status_code == 202
        assert response.json()["status"] == "cancelled"
        assert worker.wait(60) == 0
    finally:
        worker.kill()
    asked = stats(emulator)["chat_completions"]["total"]
    assert 3 <= asked < 60
    work(ctx)
    final = get(client, auth, created["id"])
    assert final["status"] == "cancelled"
    assert final["finished_at"] is not None
    assert final["results"] is None
    assert stats(emulator)["chat_completions"]["total"] == asked
    again = client.post(f"/v1/evaluations/{created['id']}/cancel", headers=auth)
    problem(again, 409, "invalid_evaluation_state")


def test_cancel_before_it_runs_asks_nothing(client, ctx, auth, tuned, emulator):
    created = create(client, auth, dataset=tuned["dataset"], models=[tuned["model"]])
    response = client.post(f"/v1/evaluations/{created['id']}/cancel", headers=auth)
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    work(ctx)
    assert get(client, auth, created["id"])["status"] == "cancelled"
    assert stats(emulator)["chat_completions"]["total"] == 0


def test_a_run_lost_with_the_queue_is_queued_again_once_overdue(client, ctx, auth, tuned,
                                                                 emulator):
    created = create(client, auth, dataset=tuned["dataset"], models=[tuned["model"]])
    ctx.queue_for("run_evaluation").empty()
    assert service.requeue_overdue(ctx) == 0, "not overdue yet"
    ctx.redis.zadd(keys.evaluations_due(), {created["id"]: 0})
    assert service.requeue_overdue(ctx) == 1
    assert finish(client, ctx, auth, created["id"])["status"] == "succeeded"
    ctx.redis.zadd(keys.evaluations_due(), {created["id"]: 0})
    assert service.requeue_overdue(ctx) == 0, "an ended evaluation is not queued again"
    assert ctx.redis.zscore(keys.evaluations_due(), created["id"]) is None
    assert stats(emulator)["chat_completions"]["total"] == 30
