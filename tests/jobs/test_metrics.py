"""Request metrics leave event streams out of the latency histogram (they last as long as the
client listens), but still count them."""

from prometheus_client import REGISTRY

from tests.factories import chat_dataset, drive_jobs

STREAM = "/v1/jobs/{job_id}/events/stream"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_event_streams_are_counted_but_not_timed(client, ctx, auth):
    dataset = chat_dataset(client, ctx, auth, 20)
    job = client.post("/v1/jobs", headers=auth, json={
        "model": "gpt-4o-mini-2024-07-18", "training_dataset": dataset}).json()
    drive_jobs(ctx, lambda: client.get(f"/v1/jobs/{job['id']}", headers=auth)
               .json()["status"] == "succeeded")
    counted = sample("ftm_http_requests_total", method="GET", route=STREAM, status="200")
    timed = sample("ftm_http_request_duration_seconds_count", method="GET", route=STREAM)
    streamed = client.get(f"/v1/jobs/{job['id']}/events/stream", headers=auth)
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert "event: end" in streamed.text
    assert sample("ftm_http_requests_total", method="GET", route=STREAM,
                  status="200") == counted + 1
    assert sample("ftm_http_request_duration_seconds_count", method="GET", route=STREAM) == timed
    route = "/v1/jobs/{job_id}"
    before = sample("ftm_http_request_duration_seconds_count", method="GET", route=route)
    client.get(f"/v1/jobs/{job['id']}", headers=auth)
    after = sample("ftm_http_request_duration_seconds_count", method="GET", route=route)
    assert after == before + 1


def test_sweep_observes_how_late_each_claimed_sync_is(ctx):
    from service import clock
    from service.jobs import index, sync

    count = sample("ftm_job_sync_lag_seconds_count")
    total = sample("ftm_job_sync_lag_seconds_sum")
    index.mark_due(ctx, "job_late", clock.now_precise() - 30)
    index.mark_due(ctx, "job_on_time", clock.now_precise())
    index.mark_due(ctx, "job_not_yet", clock.now_precise() + 600)
    assert sync.sweep(ctx) == 2
    assert sample("ftm_job_sync_lag_seconds_count") == count + 2
    assert sample("ftm_job_sync_lag_seconds_sum") - total >= 30
