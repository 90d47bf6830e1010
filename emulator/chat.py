"""POST /v1/chat/completions, plain and streamed (SSE)."""

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import StreamingResponse

from emulator import tokens
from emulator.brain import base_answer
from emulator.errors import invalid, missing
from emulator.models import Resolved, resolve
from emulator.parse import read_json
from emulator.state import State, new_id, now, of
from emulator.training import ROLES, prompt_text

router = APIRouter(prefix="/v1")
PIECES = re.compile(r"\s*\S+|\s+")
FINGERPRINT = "fp_emulator"


@router.post("/chat/completions", response_model=None)
async def create(request: Request) -> dict[str, Any] | StreamingResponse:
    state, body = of(request), await read_json(request)
    completion = complete(state, body)
    state.chat_completions[completion["model"]] += 1
    if not body.get("stream"):
        return completion
    options = body.get("stream_options") or {}
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    return StreamingResponse(stream(completion, include_usage), media_type="text/event-stream")


def complete(state: State, body: dict[str, Any]) -> dict[str, Any]:
    """The ChatCompletion for a request body."""
    model = resolve(state, body.get("model"))
    if model.kind == "embedding":
        raise invalid(f"The model `{model.id}` is not a chat model and cannot be used with "
                      "v1/chat/completions.", "model", "model_not_supported")
    messages = check_messages(body.get("messages"))
    max_tokens = check_max_tokens(body)
    n = body.get("n") or 1
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128:
        raise invalid("Invalid 'n': expected an integer between 1 and 128.", "n", "invalid_value")
    content, finish = shape(answer(model, messages), model.encoding, max_tokens, body.get("stop"))
    prompt = tokens.count_messages(messages, model.encoding)
    produced = tokens.count(content, model.encoding) * n
    return {
        "id": new_id("chatcmpl-", 29), "object": "chat.completion", "created": int(now()),
        "model": model.id, "service_tier": "default", "system_fingerprint": FINGERPRINT,
        "choices": [{"index": i, "message": {"role": "assistant", "content": content,
                                              "refusal": None, "annotations": []},
                     "logprobs": None, "finish_reason": finish} for i in range(n)],
        "usage": usage(prompt, produced)}


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}}


def check_messages(messages: object) -> list[dict[str, Any]]:
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("Invalid 'messages': expected a non-empty array.", "messages",
                      "invalid_value")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise invalid(f"Invalid value for 'messages[{i}].role': expected one of "
                          f"{sorted(ROLES)}.", f"messages[{i}].role", "invalid_value")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise invalid(f"Invalid type for 'messages[{i}].content'.", f"messages[{i}].content",
                          "invalid_type")
    return messages


def check_max_tokens(body: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid(f"Invalid '{key}': expected an integer of at least 1.", key,
                          "invalid_value")
        return value
    return None


def answer(model: Resolved, messages: list[dict[str, Any]]) -> str:
    """The fine-tuned model recalls its nearest example; a base model guesses."""
    conversation = messages[:-1] if messages[-1]["role"] == "assistant" else messages
    prompt = prompt_text(conversation)
    if model.brain is not None:
        return model.brain.answer(prompt)
    system = prompt_text([m for m in conversation if m["role"] in ("system", "developer")])
    return base_answer(model.id, prompt, system)


def shape(content: str, encoding: str, max_tokens: int | None, stop: object) -> tuple[str, str]:
    """Cut the answer at a stop sequence or the token limit; answer (content, finish_reason)."""
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    cuts = [content.find(s) for s in stops if isinstance(s, str) and s and s in content]
    if cuts:
        content = content[:min(cuts)]
    if max_tokens is not None:
        encoded = tokens.encode(content, encoding)
        if len(encoded) > max_tokens:
            return tokens.decode(encoded[:max_tokens], encoding), "length"
    return content, "stop"


async def stream(completion: dict[str, Any], include_usage: bool) -> AsyncIterator[str]:
    """ChatCompletionChunks as SSE: role, content pieces, finish, optional usage, [DONE]."""
    head = {key: completion[key] for key in ("id", "created", "model", "service_tier",
                                             "system_fingerprint")}
    head["object"] = "chat.completion.chunk"
    if include_usage:
        head["usage"] = None

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return f"data: {json.dumps({**head, 'choices': [choice]})}\n\n"

    for choice in completion["choices"]:
        i, content = choice["index"], choice["message"]["content"]
        yield chunk(i, {"role": "assistant", "content": "", "refusal": None})
        for piece in PIECES.findall(content):
            yield chunk(i, {"content": piece})
        yield chunk(i, {}, choice["finish_reason"])
    if include_usage:
        yield f"data: {json.dumps({**head, 'choices': [], 'usage': completion['usage']})}\n\n"
    yield "data: [DONE]\n\n"
