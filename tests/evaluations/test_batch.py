"""Batch mode: predictions through the provider's Batch API, followed to the end, at half price."""


import httpx

from service.datasets.pricing import load_prices
from tests.support.emulator import admin_url, stats
from tests.support.env import worker_env
from tests.support.evaluations import all_predictions, create, finish, get, work
from tests.support.workers import die_at


def test_batch_mode_end_to_end_at_the_batch_price(client, ctx, auth, tuned, emulator):
    created = create(client, auth, dataset=tuned["dataset"], job=tuned["job"]["id"],
                     mode="batch", max_tokens=10)
    evaluation = finish(client, ctx, auth, created["id"])

    assert evaluation["status"] == "succeeded", evaluation
    assert evaluation["mode"] == "batch"
    assert evaluation["progress"] == {"done": 60, "total": 60}
    tuned_model, base = tuned["model"], tuned["job"]["model"]
    results = evaluation["results"]
    assert evaluation["comparison"]["best_model"] == tuned_model
    assert results[tuned_model]["accuracy"] == 1.0
    prices = load_prices(ctx.settings.price_table)
    for model in (tuned_model, base):
        result = results[model]
        assert result["mean_latency_ms"] is None
        assert result["prompt_tokens"] > 0
        online = prices.inference_cost(model, result["prompt_tokens"],
                                       result["completion_tokens"])
        assert result["cost_usd"] == prices.inference_cost(
            model, result["prompt_tokens"], result["completion_tokens"], batch=True)
        assert result["cost_usd"] < online
    counts = stats(emulator)
    assert counts["chat_completions"]["total"] == 0
    assert counts["batch_requests"]["by_model"] == {tuned_model: 30, base: 30}
    assert counts["batches"]["total"] == 2  # one per model
    assert counts["files"]["by_purpose"]["batch"] == 2
    predictions = all_predictions(client, auth, created["id"])
    assert len(predictions) == 60
    assert all(p["latency_ms"] is None for p in predictions)

    work(ctx)  # nothing left to do: no second batch
    assert stats(emulator)["batches"]["total"] == 2


def test_worker_killed_after_creating_a_batch_never_creates_a_second(client, ctx, auth, tuned,
                                                                    emulator, settings):
    created = create(client, auth, dataset=tuned["dataset"], job=tuned["job"]["id"],
                     mode="batch")
    die_at(ctx, worker_env(settings, emulator, FTM_EVALUATION_LOCK_SECONDS="2"),
           "evaluation.batch_created")
    assert stats(emulator)["batches"]["total"] == 1

    evaluation = finish(client, ctx, auth, created["id"])
    assert evaluation["status"] == "succeeded", evaluation
    counts = stats(emulator)
    assert counts["batches"]["total"] == 2
    assert counts["files"]["by_purpose"]["batch"] == 2
    assert counts["batch_requests"]["total"] == 60


def test_cancelling_a_batch_evaluation_cancels_its_provider_batches(client, ctx, auth, tuned,
                                                                   emulator):
    httpx.post(admin_url(emulator) + "/config",
               json={"speed": 0.01}).raise_for_status()  # batches take a while
    created = create(client, auth, dataset=tuned["dataset"], models=[tuned["model"]],
                     mode="batch")
    work(ctx)
    running = get(client, auth, created["id"])
    assert running["status"] == "running"
    assert stats(emulator)["batches"]["total"] == 1

    response = client.post(f"/v1/evaluations/{created['id']}/cancel", headers=auth)
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    work(ctx)
    by_status = stats(emulator)["batches"]["by_status"]
    assert set(by_status) <= {"cancelling", "cancelled"}
    assert sum(by_status.values()) == 1
    assert get(client, auth, created["id"])["status"] == "cancelled"
