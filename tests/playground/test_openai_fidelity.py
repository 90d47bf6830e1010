"""The OpenAI-compatible routes fail as OpenAI fails: the SDK raises the same classes with the
same codes, and the provider's own refusals reach the client unchanged."""

import openai
import pytest

from tests.support.emulator import admin
from tests.support.playground import BASE, MESSAGES, sdk

CONTEXT_TOO_LONG = {
    "status": 400, "code": "context_length_exceeded", "type": "invalid_request_error",
    "param": "messages",
    "message": "This model's maximum context length is 128000 tokens. However, your messages "
               "resulted in 130512 tokens. Please reduce the length of the messages."}


def fail_next(emulator: str, path: str, **error: object) -> None:
    rule = {"count": 1, "path": path, **error}
    admin(emulator, "faults", {"fail_next": rule})


def test_invalid_request_is_bad_request(live_url, caller):
    with pytest.raises(openai.BadRequestError) as raised:
        sdk(live_url, caller).chat.completions.create(model=BASE, messages=[])
    assert raised.value.status_code == 400
    assert raised.value.type == "invalid_request_error"
    assert raised.value.param == "messages"
    with pytest.raises(openai.BadRequestError):
        sdk(live_url, caller).embeddings.create(model="text-embedding-3-small", input=None)  # type: ignore[arg-type]


def test_bad_key_is_invalid_api_key(live_url):
    client = openai.OpenAI(base_url=f"{live_url}/v1", api_key="sk-not-a-key-of-this-service",
                           max_retries=0)
    for call in (client.models.list,
                 lambda: client.chat.completions.create(model=BASE, messages=MESSAGES)):
        with pytest.raises(openai.AuthenticationError) as raised:
            call()
        assert raised.value.code == "invalid_api_key"
        assert raised.value.type == "authentication_error"


def test_unknown_model_is_not_found(live_url, caller):
    with pytest.raises(openai.NotFoundError) as raised:
        sdk(live_url, caller).models.retrieve("ft:gpt-4o-mini-2024-07-18:org:gone:abc123")
    assert raised.value.code == "model_not_found"


def test_provider_refusal_passes_through_unchanged(live_url, caller, emulator):
    fail_next(emulator, "/v1/chat/completions", **CONTEXT_TOO_LONG)
    with pytest.raises(openai.BadRequestError) as raised:
        sdk(live_url, caller).chat.completions.create(model=BASE, messages=MESSAGES)
    error = raised.value
    assert error.code == "context_length_exceeded"
    assert error.param == "messages"
    assert error.type == "invalid_request_error"
    assert error.body == {key: CONTEXT_TOO_LONG[key] for key in ("message", "type", "param",
                                                                  "code")}


def test_provider_status_passes_through_on_streams_and_embeddings(live_url, caller, emulator):
    fail_next(emulator, "/v1/chat/completions", status=400, code="invalid_image_url",
              param="messages", message="Timeout while downloading the image.")
    with pytest.raises(openai.BadRequestError) as raised:
        list(sdk(live_url, caller).chat.completions.create(model=BASE, messages=MESSAGES,
                                                       stream=True))
    assert raised.value.code == "invalid_image_url"
    assert raised.value.body["message"] == "Timeout while downloading the image."  # type: ignore[index]
    fail_next(emulator, "/v1/embeddings", status=422, code="invalid_value", param="dimensions",
              type="invalid_request_error", message="Invalid value for 'dimensions'.")
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        sdk(live_url, caller).embeddings.create(model="text-embedding-3-small", input="a")
    assert refused.value.status_code == 422
    assert refused.value.code == "invalid_value"
    assert refused.value.param == "dimensions"


def test_models_lists_the_base_models_the_project_may_use(live_url, caller, settings):
    listed = [model.id for model in sdk(live_url, caller).models.list()]
    assert listed == list(dict.fromkeys([*settings.chat_models, *settings.embedding_models]))
    for model in listed:
        assert sdk(live_url, caller).models.retrieve(model).owned_by == "openai"


def test_answers_carry_rate_limit_headers(live_url, caller, settings):
    first = sdk(live_url, caller).chat.completions.with_raw_response.create(model=BASE,
                                                                        messages=MESSAGES)
    second = sdk(live_url, caller).models.with_raw_response.list()
    limit = str(settings.rate_limit_per_minute)
    for answer in (first, second):
        assert answer.headers["x-ratelimit-limit-requests"] == limit
        assert answer.headers["x-ratelimit-reset-requests"].endswith("s")
        assert 0 <= int(answer.headers["x-ratelimit-remaining-requests"]) < int(limit)
