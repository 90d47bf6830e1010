"""Chat completions: fine-tuned models recall their training data, base models guess."""

import json

import httpx
import openai
import pytest
import tiktoken
from openai import AsyncOpenAI, OpenAI

from tests.support.emulator_sdk import SYSTEM, create_job, upload, wait_for_status
from tests.support.env import PUBLIC_DATA

SENTIMENT = PUBLIC_DATA / "bertcode_sentiment_training_set.jsonl"


def sentiment_rows() -> list[dict]:
    return [json.loads(line) for line in SENTIMENT.read_text().splitlines() if line.strip()]


def accuracy(client: OpenAI, model: str, rows: list[dict]) -> float:
    right = 0
    for row in rows:
        *prompt, truth = row["messages"]
        answer = client.chat.completions.create(model=model, messages=prompt, temperature=0)
        right += answer.choices[0].message.content == truth["content"]
    return right / len(rows)


def test_fine_tuned_model_beats_its_base_on_held_out_data(client: OpenAI) -> None:
    rows = sentiment_rows()
    train, test = rows[:50], rows[50:]
    job = wait_for_status(client, create_job(client, upload(client, train)).id)
    assert job.status == "succeeded"
    assert job.fine_tuned_model
    tuned = accuracy(client, job.fine_tuned_model, test)
    base = accuracy(client, "gpt-4o-mini-2024-07-18", test)
    assert tuned >= 0.5
    assert tuned >= base + 0.3
    assert accuracy(client, job.fine_tuned_model, train[:20]) == 1.0


def test_base_model_answers_deterministically(client: OpenAI) -> None:
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": "The soup was lukewarm"}]
    answers = {client.chat.completions.create(model="gpt-4o-mini", messages=messages)
               .choices[0].message.content for _ in range(3)}
    assert len(answers) == 1
    assert answers != {""}
    response = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert response.model == "gpt-4o-mini-2024-07-18"


def test_usage_counts_tokens_with_tiktoken(client: OpenAI) -> None:
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": "The soup was lukewarm"}]
    response = client.chat.completions.create(model="gpt-3.5-turbo", messages=messages)
    enc = tiktoken.get_encoding("cl100k_base")
    prompt = 3 + sum(3 + len(enc.encode(m["content"])) for m in messages)
    assert response.usage is not None
    assert response.usage.prompt_tokens == prompt
    content = response.choices[0].message.content or ""
    assert response.usage.completion_tokens == len(enc.encode(content))
    assert response.usage.total_tokens == prompt + response.usage.completion_tokens
    assert response.id.startswith("chatcmpl-")
    assert response.object == "chat.completion"


def test_max_tokens_truncates_and_reports_length(client: OpenAI) -> None:
    prompts = [[{"role": "user", "content": f"Tell me about the weather, take {i}."}]
               for i in range(20)]
    answers = [(m, client.chat.completions.create(model="gpt-4o", messages=m)) for m in prompts]
    messages, full = next((m, a) for m, a in answers if a.usage and a.usage.completion_tokens > 3)
    short = client.chat.completions.create(model="gpt-4o", messages=messages, max_tokens=3)
    assert short.choices[0].finish_reason == "length"
    assert short.usage
    assert short.usage.completion_tokens == 3
    assert (full.choices[0].message.content or "").startswith(
        short.choices[0].message.content or "")
    newer = client.chat.completions.create(model="gpt-4o", messages=messages,
                                           max_completion_tokens=2)
    assert newer.usage
    assert newer.usage.completion_tokens == 2


def test_streaming_yields_chunks_and_usage(client: OpenAI) -> None:
    messages = [{"role": "user", "content": "Describe a sunny day at the beach please."}]
    whole = client.chat.completions.create(model="gpt-4.1-mini", messages=messages)
    chunks = list(client.chat.completions.create(
        model="gpt-4.1-mini", messages=messages, stream=True,
        stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage == whole.usage
    assert len({c.id for c in chunks}) == 1


async def test_async_streaming_without_usage(aclient: AsyncOpenAI) -> None:
    stream = await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi there"}], stream=True)
    chunks = [chunk async for chunk in stream]
    assert chunks
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_unknown_model_answers_404_model_not_found(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "model_not_found"


def test_bad_chat_requests_are_refused(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[])
    assert caught.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "wizard",
                                                                  "content": "x"}])
    assert caught.value.param == "messages[0].role"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="text-embedding-3-small",
                                       messages=[{"role": "user", "content": "x"}])
    assert caught.value.param == "model"


def test_checkpoint_models_answer_too(client: OpenAI) -> None:
    job = wait_for_status(client, create_job(client).id)
    checkpoint = client.fine_tuning.jobs.checkpoints.list(job.id).data[0]
    answer = client.chat.completions.create(
        model=checkpoint.fine_tuned_model_checkpoint,
        messages=[{"role": "system", "content": SYSTEM},
                  {"role": "user", "content": "Rude staff and cold soggy pizza"}])
    assert answer.choices[0].message.content == "Negative"


def test_chat_counts_are_kept_per_model(client: OpenAI, admin: httpx.Client) -> None:
    for model in ("gpt-4o-mini", "gpt-4o-mini", "gpt-4.1"):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert admin.get("/stats").json()["chat_completions"] == {
        "total": 3, "by_model": {"gpt-4o-mini-2024-07-18": 2, "gpt-4.1-2025-04-14": 1}}
