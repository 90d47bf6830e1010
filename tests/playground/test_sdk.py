"""The official openai SDK pointed at the service works unchanged: chat (plain and streamed),
models, embeddings, errors in OpenAI's envelope."""

import asyncio
import base64

import httpx
import numpy as np
import openai
import pytest

from tests.support.emulator import admin, stats
from tests.support.env import EMULATOR_KEY
from tests.support.playground import ANSWERS, BASE, MESSAGES, new_caller, sdk


def test_chat_with_fine_tuned_model_answers_like_its_training_data(live_url, caller, fine_tuned,
                                                                    emulator):
    client = sdk(live_url, caller)
    completion = client.chat.completions.create(model=fine_tuned, messages=MESSAGES,
                                                temperature=0)
    assert completion.choices[0].message.content == ANSWERS[0]
    assert completion.model == fine_tuned
    assert completion.object == "chat.completion"
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0

    chunks = list(client.chat.completions.create(model=fine_tuned, messages=MESSAGES,
                                                 temperature=0, stream=True))
    assert len(chunks) > 3
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWERS[0]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert stats(emulator)["chat_completions"]["by_model"][fine_tuned] == 2


def test_stream_with_usage_ends_with_a_usage_chunk(live_url, caller, fine_tuned):
    chunks = list(sdk(live_url, caller).chat.completions.create(
        model=fine_tuned, messages=MESSAGES, stream=True,
        stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens > 0
    metrics = httpx.get(f"{live_url}/metrics").text
    assert 'ftm_playground_tokens_total{kind="completion",model_kind="fine_tuned"}' in metrics
    assert fine_tuned not in metrics  # no model ids in labels


def test_stream_is_framed_as_openai_frames_it(live_url, caller):
    with caller.http.stream("POST", "/v1/chat/completions", json={
            "model": BASE, "messages": MESSAGES, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    events = body.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    assert all(event.startswith("data: {") for event in events[:-2])


def test_async_sdk_chats_and_streams(live_url, caller, fine_tuned):
    async def run() -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=f"{live_url}/v1", api_key=caller.key) as client:
            completion = await client.chat.completions.create(
                model=fine_tuned, messages=MESSAGES, temperature=0)
            stream = await client.chat.completions.create(
                model=fine_tuned, messages=MESSAGES, temperature=0, stream=True)
            pieces = [chunk.choices[0].delta.content or "" async for chunk in stream]
            return completion.choices[0].message.content, "".join(pieces)

    plain, streamed = asyncio.run(run())
    assert plain == streamed == ANSWERS[0]


def test_base_model_chats_and_other_parameters_pass_through(live_url, caller):
    client = sdk(live_url, caller)
    completion = client.chat.completions.create(
        model=BASE, messages=MESSAGES, n=2, max_completion_tokens=1,
        extra_body={"a_parameter_newer_than_this_service": True})
    assert len(completion.choices) == 2
    assert all(choice.finish_reason == "length" for choice in completion.choices)


def test_out_of_range_parameter_is_bad_request(live_url, caller):
    with pytest.raises(openai.BadRequestError) as raised:
        sdk(live_url, caller).chat.completions.create(model=BASE, messages=MESSAGES, n=500)
    assert raised.value.param == "n"
    assert "128" in raised.value.message


def test_streams_after_a_transient_provider_failure(live_url, caller, emulator):
    fault = {"fail_next": {"count": 1, "status": 503, "path": "/v1/chat/completions"},
             "retry_after_ms": 0}
    admin(emulator, "faults", fault)
    chunks = list(sdk(live_url, caller).chat.completions.create(model=BASE, messages=MESSAGES,
                                                            stream=True))
    assert chunks
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_models_lists_and_retrieves_the_projects_models(live_url, caller, fine_tuned):
    client = sdk(live_url, caller)
    listed = [m.id for m in client.models.list()]
    assert listed[0] == fine_tuned
    assert BASE in listed
    assert "text-embedding-3-small" in listed
    model = client.models.retrieve(fine_tuned)
    assert model.id == fine_tuned
    assert model.object == "model"
    assert model.created > 0
    raw = caller.http.get(f"/v1/models/{fine_tuned}").json()
    assert raw["status"] == "active"
    assert raw["base_model"] == BASE
    assert raw["job_id"].startswith("job_")
    base = client.models.retrieve(BASE)
    assert base.owned_by == "openai"
    assert caller.http.get(f"/v1/models/{BASE}").json()["status"] == "active"


def test_delete_is_harmless_to_repeat_and_ends_chat(live_url, caller, fine_tuned, emulator):
    client = sdk(live_url, caller)
    first = client.models.delete(fine_tuned)
    assert first.id == fine_tuned
    assert first.deleted is True
    assert first.object == "model"
    again = caller.http.delete(f"/v1/models/{fine_tuned}")
    assert again.status_code == 200
    assert again.json() == {"id": fine_tuned, "object": "model", "deleted": True}
    assert stats(emulator)["models"] == {"fine_tuned": 0, "deleted": 1}

    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model=fine_tuned, messages=MESSAGES)
    assert raised.value.code == "model_not_found"
    assert "deleted" in raised.value.message
    with pytest.raises(openai.NotFoundError):
        list(client.chat.completions.create(model=fine_tuned, messages=MESSAGES, stream=True))
    assert fine_tuned not in [m.id for m in client.models.list()]
    assert caller.http.get(f"/v1/models/{fine_tuned}").json()["status"] == "deleted"


def test_model_deleted_on_the_provider_counts_as_deleted(live_url, caller, fine_tuned, emulator):
    openai.OpenAI(base_url=emulator, api_key=EMULATOR_KEY).models.delete(fine_tuned)
    with pytest.raises(openai.NotFoundError) as raised:
        sdk(live_url, caller).chat.completions.create(model=fine_tuned, messages=MESSAGES)
    assert raised.value.code == "model_not_found"
    assert caller.http.delete(f"/v1/models/{fine_tuned}").json()["deleted"] is True
    assert caller.http.get(f"/v1/models/{fine_tuned}").json()["status"] == "deleted"


def test_deleting_a_base_model_is_forbidden(live_url, caller):
    with pytest.raises(openai.PermissionDeniedError) as raised:
        sdk(live_url, caller).models.delete(BASE)
    assert raised.value.status_code == 403
    assert raised.value.code == "model_not_deletable"


def test_unknown_model_is_not_found_everywhere(live_url, caller):
    client, unknown = sdk(live_url, caller), "ft:gpt-4o-mini-2024-07-18:org:nope:abc123"
    for call in (lambda: client.models.retrieve(unknown),
                 lambda: client.models.delete(unknown),
                 lambda: client.chat.completions.create(model=unknown, messages=MESSAGES),
                 lambda: client.chat.completions.create(model="gpt-2", messages=MESSAGES),
                 lambda: client.embeddings.create(model=BASE, input="hello")):
        with pytest.raises(openai.NotFoundError) as raised:
            call()
        assert raised.value.code == "model_not_found"


def test_another_projects_model_is_not_found(live_url, caller, fine_tuned):
    other = new_caller(live_url, "other")
    client = sdk(live_url, other)
    assert fine_tuned not in [m.id for m in client.models.list()]
    for call in (lambda: client.models.retrieve(fine_tuned),
                 lambda: client.models.delete(fine_tuned),
                 lambda: client.chat.completions.create(model=fine_tuned, messages=MESSAGES)):
        with pytest.raises(openai.NotFoundError):
            call()
    assert caller.http.get(f"/v1/models/{fine_tuned}").json()["status"] == "active"
    other.http.close()


def test_embeddings_through_the_sdk(live_url, caller):
    client = sdk(live_url, caller)
    response = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [len(item.embedding) for item in response.data] == [1536, 1536]
    assert np.isclose(np.linalg.norm(response.data[0].embedding), 1.0, atol=1e-3)
    short = client.embeddings.create(model="text-embedding-3-small", input="a", dimensions=64)
    assert len(short.data[0].embedding) == 64

    raw = caller.http.post("/v1/embeddings", json={"model": "text-embedding-3-small",
                                                   "input": "a", "encoding_format": "base64"})
    vector = np.frombuffer(base64.b64decode(raw.json()["data"][0]["embedding"]), "<f4")
    assert np.allclose(vector, response.data[0].embedding, atol=1e-6)


def test_bad_bodies_get_openai_error_envelope(live_url, caller):
    missing = caller.http.post("/v1/chat/completions", json={"model": BASE})
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "messages"
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    wrong = caller.http.post("/v1/chat/completions", json={"model": BASE, "messages": "hi"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "validation_error"
    malformed = caller.http.post("/v1/chat/completions", content=b'{"model": ',
                                 headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"
    with pytest.raises(openai.BadRequestError) as invalid:
        sdk(live_url, caller).chat.completions.create(model=BASE, messages=[])
    assert invalid.value.param == "messages"
    with pytest.raises(openai.AuthenticationError) as refused:
        openai.OpenAI(base_url=f"{live_url}/v1", api_key="wrong").models.list()
    assert refused.value.code == "invalid_api_key"


def test_answers_never_carry_the_provider_key(live_url, caller):
    answers = [caller.http.post("/v1/chat/completions", json={"model": BASE, "messages": MESSAGES}),
               caller.http.post("/v1/chat/completions", json={"model": BASE, "messages": MESSAGES,
                                                              "n": 500}),
               caller.http.post("/v1/embeddings", json={"model": "text-embedding-3-small",
                                                        "input": "a"}),
               caller.http.get("/v1/models")]
    for answer in answers:
        assert EMULATOR_KEY not in answer.text
        assert EMULATOR_KEY not in str(answer.headers)
