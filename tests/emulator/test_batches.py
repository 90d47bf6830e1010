"""Batches of chat completions (and embeddings): lifecycle, output and error files, cancel."""

import json

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types import Batch

from tests.support.emulator_sdk import SYSTEM, create_job, upload, wait_for, wait_for_status


def request(custom_id: str, model: str, text: str, url: str = "/v1/chat/completions") -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": url,
            "body": {"model": model, "messages": [{"role": "system", "content": SYSTEM},
                                                  {"role": "user", "content": text}]}}


def finished(client: OpenAI, batch_id: str) -> Batch:
    def probe() -> Batch | None:
        batch = client.batches.retrieve(batch_id)
        return batch if batch.status in ("completed", "failed", "cancelled") else None
    return wait_for(probe)


def lines(client: OpenAI, file_id: str | None) -> list[dict]:
    assert file_id is not None
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def test_batch_answers_with_the_fine_tuned_model(client: OpenAI, admin: httpx.Client) -> None:
    job = wait_for_status(client, create_job(client).id)
    model = job.fine_tuned_model or ""
    rows = [request("a", model, "Rude staff and cold soggy pizza"),
            request("b", "gpt-4o-mini", "Rude staff and cold soggy pizza"),
            request("c", "gpt-nonexistent", "hello")]
    batch = client.batches.create(input_file_id=upload(client, rows, "batch", "in.jsonl"),
                                  endpoint="/v1/chat/completions", completion_window="24h",
                                  metadata={"run": "1"})
    assert batch.status == "validating"
    assert batch.metadata == {"run": "1"}
    done = finished(client, batch.id)
    assert done.status == "completed"
    assert done.request_counts
    assert (done.request_counts.total, done.request_counts.completed,
            done.request_counts.failed) == (3, 2, 1)
    assert done.completed_at
    assert done.in_progress_at
    assert done.finalizing_at
    output = {row["custom_id"]: row for row in lines(client, done.output_file_id)}
    assert set(output) == {"a", "b"}
    answer = output["a"]["response"]
    assert answer["status_code"] == 200
    assert answer["request_id"].startswith("req_")
    assert answer["body"]["choices"][0]["message"]["content"] == "Negative"
    assert answer["body"]["object"] == "chat.completion"
    assert output["a"]["error"] is None
    (error,) = lines(client, done.error_file_id)
    assert error["custom_id"] == "c"
    assert error["response"]["status_code"] == 404
    assert error["response"]["body"]["error"]["code"] == "model_not_found"
    assert client.files.retrieve(done.output_file_id or "").purpose == "batch_output"
    counts = admin.get("/stats").json()["batch_requests"]
    assert counts == {"total": 2, "by_model": {model: 1, "gpt-4o-mini-2024-07-18": 1}}


def test_batch_of_embeddings(client: OpenAI) -> None:
    rows = [{"custom_id": str(i), "method": "POST", "url": "/v1/embeddings",
             "body": {"model": "text-embedding-3-small", "input": f"text {i}"}}
            for i in range(3)]
    batch = client.batches.create(input_file_id=upload(client, rows, "batch", "e.jsonl"),
                                  endpoint="/v1/embeddings", completion_window="24h")
    done = finished(client, batch.id)
    assert done.status == "completed"
    assert done.error_file_id is None
    output = lines(client, done.output_file_id)
    assert [len(r["response"]["body"]["data"][0]["embedding"]) for r in output] == [1536] * 3


def test_malformed_lines_fail_the_batch(client: OpenAI) -> None:
    content = b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions"}\nnot json\n'
    file_id = client.files.create(file=("bad.jsonl", content), purpose="batch").id
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    done = finished(client, batch.id)
    assert done.status == "failed"
    assert done.failed_at is not None
    assert done.errors
    assert done.errors.data
    assert [(e.code, e.line) for e in done.errors.data] == [
        ("missing_required_parameter", 1), ("invalid_json_line", 2)]
    assert done.output_file_id is None


def test_bad_batch_requests_are_refused(client: OpenAI) -> None:
    tuned = upload(client)
    with pytest.raises(openai.BadRequestError) as caught:
        client.batches.create(input_file_id=tuned, endpoint="/v1/chat/completions",
                              completion_window="24h")
    assert caught.value.param == "input_file_id"
    batch_file = upload(client, [request("a", "gpt-4o", "x")], "batch")
    with pytest.raises(openai.BadRequestError) as caught:
        client.batches.create(input_file_id=batch_file, endpoint="/v1/moderations",
                              completion_window="24h")
    assert caught.value.param == "endpoint"
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")


def test_cancel_and_list_batches(client: OpenAI, admin: httpx.Client) -> None:
    admin.post("/config", json={"speed": 0.01}).raise_for_status()
    rows = [request(str(i), "gpt-4o-mini", f"review {i}") for i in range(4)]
    slow = client.batches.create(input_file_id=upload(client, rows, "batch"),
                                 endpoint="/v1/chat/completions", completion_window="24h")
    admin.post("/config", json={"speed": 50}).raise_for_status()
    cancelling = client.batches.cancel(slow.id)
    assert cancelling.status == "cancelling"
    assert cancelling.cancelling_at is not None
    other = client.batches.create(input_file_id=upload(client, rows, "batch"),
                                  endpoint="/v1/chat/completions", completion_window="24h")
    assert [b.id for b in client.batches.list(limit=10)] == [other.id, slow.id]
    page = client.batches.list(limit=1)
    assert page.has_more
    assert page.data[0].id == other.id
    assert finished(client, slow.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(slow.id)
