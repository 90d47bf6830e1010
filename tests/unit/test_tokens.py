"""Token counts: OpenAI's cookbook recipe, and what this service decides beyond it."""

import orjson
import pytest
import tiktoken

from service.datasets.tokens import (
    TokenCounter,
    base_model,
    encoding_for,
    encoding_name_for,
    lean_encoding,
)
from tests.support.env import PUBLIC_DATA

TOY = PUBLIC_DATA / "openai_cookbook_toy_chat_fine_tuning.jsonl"
BERTCODE = PUBLIC_DATA / "bertcode_sentiment_training_set.jsonl"


def recipe(messages: list[dict[str, str]], encoding: tiktoken.Encoding) -> tuple[int, int]:
    """The cookbook's num_tokens_from_messages and num_assistant_tokens_from_messages, verbatim."""
    num_tokens = 0
    for message in messages:
        num_tokens += 3
        for key, value in message.items():
            num_tokens += len(encoding.encode(value))
            if key == "name":
                num_tokens += 1
    num_tokens += 3
    assistant = sum(len(encoding.encode(m["content"])) for m in messages
                    if m["role"] == "assistant")
    return num_tokens, assistant


@pytest.mark.parametrize("encoding_name", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("path", [TOY, BERTCODE])
def test_chat_counts_equal_the_cookbook_recipe(path: object, encoding_name: str) -> None:
    encoding = tiktoken.get_encoding(encoding_name)
    counter = TokenCounter(encoding)
    for line in path.read_bytes().splitlines():  # type: ignore[attr-defined]
        if line.strip():
            example = orjson.loads(line)
            assert counter.chat(example["messages"], example) == recipe(example["messages"],
                                                                        encoding)


def test_toy_outlier_has_8032_tokens_of_which_8000_assistant() -> None:
    counter = TokenCounter(tiktoken.get_encoding("cl100k_base"))
    totals = [counter.chat(orjson.loads(line)["messages"], {})
              for line in TOY.read_bytes().splitlines()]
    assert max(totals) == (8032, 8000)


def test_name_costs_its_tokens_plus_one() -> None:
    encoding = tiktoken.get_encoding("cl100k_base")
    counter = TokenCounter(encoding)
    plain = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    named = [{"role": "user", "content": "hi", "name": "bob"}, plain[1]]
    bob = len(encoding.encode("bob"))
    assert counter.chat(named, {})[0] == counter.chat(plain, {})[0] + bob + 1
    assert counter.chat(named, {}) == recipe(named, encoding)


def test_special_token_text_counts_as_ordinary_text_instead_of_raising() -> None:
    encoding = tiktoken.get_encoding("cl100k_base")
    text = "end <|endoftext|> here"
    with pytest.raises(ValueError):
        encoding.encode(text)
    counter = TokenCounter(encoding)
    assert counter.text(text) == len(encoding.encode(text, disallowed_special=()))
    assert counter.text(text) > 3


def test_content_parts_count_their_text_parts_only() -> None:
    encoding = tiktoken.get_encoding("o200k_base")
    counter = TokenCounter(encoding)
    parts = [{"type": "text", "text": "What is in"}, {"type": "image_url", "image_url": {
        "url": "https://example.com/a.png"}}, {"type": "text", "text": " this picture?"}]
    as_parts = [{"role": "user", "content": parts}, {"role": "assistant", "content": "A cat."}]
    as_text = [{"role": "user", "content": "What is in"}, as_parts[1]]
    difference = counter.chat(as_parts, {})[0] - counter.chat(as_text, {})[0]
    assert difference == len(encoding.encode(" this picture?"))


def test_tool_calls_and_tools_count_their_compact_json() -> None:
    encoding = tiktoken.get_encoding("o200k_base")
    counter = TokenCounter(encoding)
    call = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    messages = [{"role": "user", "content": "go"},
                {"role": "assistant", "content": None, "tool_calls": call}]
    total, assistant = counter.chat(messages, {"tools": tools})
    call_tokens = len(encoding.encode(orjson.dumps(call).decode()))
    tools_tokens = len(encoding.encode(orjson.dumps(tools).decode()))
    assert assistant == call_tokens
    assert total == 3 + (3 + 1 + 1) + (3 + 1 + call_tokens) + tools_tokens


def test_prompt_completion_and_preference_counts() -> None:
    encoding = tiktoken.get_encoding("cl100k_base")
    counter = TokenCounter(encoding)
    pair = {"prompt": "Capital of France ->", "completion": " Paris END"}
    assert counter.prompt_completion(pair) == (
        len(encoding.encode(pair["prompt"])) + len(encoding.encode(pair["completion"])),
        len(encoding.encode(pair["completion"])))
    given = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "earlier"},
             {"role": "user", "content": "again"}]
    preferred = [{"role": "assistant", "content": "hello there"}]
    example = {"input": {"messages": given}, "preferred_output": preferred,
               "non_preferred_output": [{"role": "assistant", "content": "no"}]}
    total, _ = recipe([*given, *preferred], encoding)
    assert counter.preference(example) == (total, len(encoding.encode("hello there")))


@pytest.mark.parametrize(("model", "expected"), [
    ("gpt-4o-mini-2024-07-18", "o200k_base"), ("gpt-4o-mini", "o200k_base"),
    ("gpt-4.1-nano-2025-04-14", "o200k_base"), ("gpt-3.5-turbo", "cl100k_base"),
    ("gpt-3.5-turbo-0125", "cl100k_base"), ("ft:gpt-4o-mini-2024-07-18:acme:reflection:AbC123",
                                             "o200k_base"),
    ("ft:gpt-3.5-turbo-0125:acme::xyz", "cl100k_base"), ("o9-preview", "o200k_base"),
    ("gpt-4.1-2031-01-01", "o200k_base"), ("some-other-model", "cl100k_base"),
])
def test_encoding_follows_the_model_family(model: str, expected: str) -> None:
    assert encoding_name_for(model) == expected
    assert encoding_for(model).name == expected


def test_base_model_strips_fine_tuned_names() -> None:
    assert base_model("ft:gpt-4o-mini-2024-07-18:org:suffix:id") == "gpt-4o-mini-2024-07-18"
    assert base_model("gpt-4o") == "gpt-4o"


def test_lean_encoding_counts_like_the_full_one() -> None:
    full, lean = tiktoken.get_encoding("o200k_base"), lean_encoding("o200k_base")
    text = TOY.read_text(encoding="utf-8")
    assert lean.encode_ordinary(text) == full.encode_ordinary(text)
    assert len(full._mergeable_ranks) > 100_000  # the shared registry copy is left intact
