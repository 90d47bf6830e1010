"""Per-example checks and the dataset-level warning functions."""

from typing import Any

import numpy as np
import pytest

from service.datasets import validate
from service.datasets.validate import (
    ERROR_CODES,
    WARNING_CODES,
    check_chat,
    check_preference,
    check_prompt_completion,
)

USER = {"role": "user", "content": "hi"}
ASSISTANT = {"role": "assistant", "content": "hello"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def codes(issues: list[validate.Issue]) -> list[str]:
    return [code for code, _ in issues]


def chat(*messages: Any, **extra: Any) -> dict[str, Any]:
    return {"messages": list(messages), **extra}


def test_valid_chat_examples_have_no_errors() -> None:
    assert check_chat(chat({"role": "system", "content": "be brief"}, USER, ASSISTANT)) == []
    assert check_chat(chat(USER, {"role": "assistant", "content": None, "tool_calls": [CALL]},
                           {"role": "tool", "tool_call_id": "call_1", "content": "42"},
                           {**ASSISTANT, "weight": 1}, tools=[TOOL])) == []
    parts = [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "u"}}]
    assert check_chat(chat({"role": "user", "content": parts, "name": "ann"},
                           {"role": "developer", "content": "x"}, {**ASSISTANT, "weight": 0})) == []


@pytest.mark.parametrize(("example", "expected"), [
    ([1, 2], ["data_type"]),
    ("text", ["data_type"]),
    ({"messages": []}, ["missing_messages_list"]),
    ({"conversation": [USER]}, ["missing_messages_list"]),
    ({"messages": "hi"}, ["missing_messages_list"]),
    (chat(USER, 3, ASSISTANT), ["data_type"]),
    (chat({"content": "hi"}, ASSISTANT), ["message_missing_key"]),
    (chat({"role": "user"}, ASSISTANT), ["message_missing_key"]),
    (chat({**USER, "mood": "ok"}, ASSISTANT), ["message_unrecognized_key"]),
    (chat({"role": "bot", "content": "hi"}, ASSISTANT), ["unrecognized_role"]),
    (chat({"role": ["user"], "content": "hi"}, ASSISTANT), ["unrecognized_role"]),
    (chat({"role": "user", "content": ""}, ASSISTANT), ["missing_content"]),
    (chat({"role": "user", "content": None}, ASSISTANT), ["missing_content"]),
    (chat({"role": "user", "content": []}, ASSISTANT), ["missing_content"]),
    (chat(USER), ["example_missing_assistant_message"]),
    (chat({"role": "user", "content": 42}, ASSISTANT), ["invalid_content"]),
    (chat({"role": "user", "content": [{"text": "x"}]}, ASSISTANT), ["invalid_content"]),
    (chat({"role": "user", "content": [{"type": "text"}]}, ASSISTANT), ["invalid_content"]),
    (chat({**USER, "name": 7}, ASSISTANT), ["invalid_name"]),
    (chat(USER, {**ASSISTANT, "weight": 2}), ["invalid_weight"]),
    (chat(USER, {**ASSISTANT, "weight": True}), ["invalid_weight"]),
    (chat({**USER, "weight": 1}, ASSISTANT), ["invalid_weight"]),
    (chat(USER, {"role": "assistant", "content": "x", "tool_calls": []}), ["invalid_tool_call"]),
    (chat(USER, {"role": "assistant", "tool_calls": [{**CALL, "type": "code"}]}),
     ["invalid_tool_call"]),
    (chat(USER, {"role": "assistant", "tool_calls": [
        {**CALL, "function": {"name": "f", "arguments": {}}}]}), ["invalid_tool_call"]),
    (chat(USER, {"role": "assistant", "function_call": {"name": "f"}}), ["invalid_tool_call"]),
    (chat({**USER, "tool_calls": [CALL]}, ASSISTANT), ["invalid_tool_call"]),
    (chat(USER, ASSISTANT, {"role": "tool", "content": "42"}), ["invalid_tool_call"]),
    (chat(USER, ASSISTANT, tools={"f": 1}), ["invalid_tools"]),
    (chat(USER, ASSISTANT, tools=[{"type": "function", "function": {}}]), ["invalid_tools"]),
    (chat(USER, ASSISTANT, tools=[{"function": {"name": "f"}}]), ["invalid_tools"]),
    (chat(USER, ASSISTANT, tools=[{**TOOL, "function": {"name": "f", "parameters": []}}]),
     ["invalid_tools"]),
])
def test_each_chat_error_is_reported_with_its_code(example: Any, expected: list[str]) -> None:
    assert codes(check_chat(example)) == expected


def test_message_errors_count_once_per_message_and_name_the_message() -> None:
    issues = check_chat(chat({"role": "bot", "content": "a"}, {"role": "bot", "content": "b"},
                             ASSISTANT))
    assert codes(issues) == ["unrecognized_role", "unrecognized_role"]
    assert "Message 2" in issues[1][1]
    assert "'bot'" in issues[1][1]


@pytest.mark.parametrize(("example", "expected"), [
    ({"prompt": "a ->", "completion": " b"}, []),
    ({"completion": " b"}, ["missing_prompt"]),
    ({"prompt": "a"}, ["missing_completion"]),
    ({"prompt": 1, "completion": " b"}, ["invalid_prompt"]),
    ({"prompt": "a", "completion": ["b"]}, ["invalid_completion"]),
    ({}, ["missing_prompt", "missing_completion"]),
    ([], ["data_type"]),
])
def test_prompt_completion_shape(example: Any, expected: list[str]) -> None:
    assert codes(check_prompt_completion(example)) == expected


PREFERRED = [{"role": "assistant", "content": "yes"}]
REJECTED = [{"role": "assistant", "content": "no"}]


@pytest.mark.parametrize(("example", "expected"), [
    ({"input": {"messages": [USER], "tools": [TOOL]}, "preferred_output": PREFERRED,
      "non_preferred_output": REJECTED}, []),
    ({"preferred_output": PREFERRED, "non_preferred_output": REJECTED}, ["missing_input"]),
    ({"input": {"messages": []}, "preferred_output": PREFERRED,
      "non_preferred_output": REJECTED}, ["missing_messages_list"]),
    ({"input": {"messages": [USER]}, "non_preferred_output": REJECTED},
     ["missing_preferred_output"]),
    ({"input": {"messages": [USER]}, "preferred_output": PREFERRED},
     ["missing_non_preferred_output"]),
    ({"input": {"messages": [USER]}, "preferred_output": [USER],
      "non_preferred_output": REJECTED}, ["invalid_preference_output"]),
    ({"input": {"messages": [USER]}, "preferred_output": "yes",
      "non_preferred_output": REJECTED}, ["invalid_preference_output"]),
    ({"input": {"messages": [{"role": "bot", "content": "x"}]}, "preferred_output": PREFERRED,
      "non_preferred_output": [{"role": "assistant", "content": ""}]},
     ["unrecognized_role", "missing_content"]),
])
def test_preference_shape(example: Any, expected: list[str]) -> None:
    assert codes(check_preference(example)) == expected


def test_conversation_and_completion_warnings() -> None:
    assert codes(validate.conversation_warnings([USER, ASSISTANT])) == ["missing_system_message"]
    assert codes(validate.conversation_warnings([{"role": "developer", "content": "x"},
                                                 ASSISTANT])) == ["missing_user_message"]
    assert validate.conversation_warnings([USER, ASSISTANT], system=False) == []
    assert codes(validate.completion_warnings("Paris")) == ["completion_missing_leading_space"]
    assert validate.completion_warnings(" Paris") == []


def test_duplicates_point_at_the_first_occurrence() -> None:
    hashes = np.array([validate.example_hash(line) for line in
                       [b"a", b"b", b"a ", b"c", b"b", b"a"]], dtype=np.uint64)
    repeat, first = validate.find_duplicates(hashes)
    assert repeat.tolist() == [2, 4, 5]
    assert first.tolist() == [0, 1, 0]
    assert validate.find_duplicates(hashes[:2])[0].size == 0


def test_common_suffix_shrinks_to_what_all_share() -> None:
    suffix = None
    for text in ("a\n\n###\n\n", "bb\n\n###\n\n", "c #\n\n"):
        suffix = validate.common_suffix(suffix, text)
    assert suffix == "#\n\n"
    assert validate.common_suffix(suffix, "d\n") == "\n"
    assert validate.common_suffix("abc", "xyz") == ""


def test_label_imbalance_and_too_few_thresholds() -> None:
    assert validate.label_imbalance({"a": 50, "b": 10}) is None
    issue = validate.label_imbalance({"a": 51, "b": 10, "c": 20})
    assert issue is not None
    assert issue[0] == "label_imbalance"
    assert "'a'" in issue[1]
    assert validate.label_imbalance({"a": 100}) is None
    assert validate.too_few_examples(10) is None
    assert validate.too_few_examples(9) == ("too_few_examples",
                                            "9 valid examples; OpenAI needs at least 10.")
    assert validate.unexpected_label("Neutral.", {"Neutral"}) is not None
    assert validate.unexpected_label("Neutral", {"Neutral"}) is None


def test_codes_include_the_cookbooks_categories() -> None:
    cookbook = ["invalid_json", "data_type", "missing_messages_list", "message_missing_key",
                "message_unrecognized_key", "unrecognized_role", "missing_content",
                "example_missing_assistant_message"]
    assert list(ERROR_CODES[:8]) == cookbook
    assert {"missing_system_message", "missing_user_message", "over_token_limit",
            "duplicate_example", "too_few_examples", "label_imbalance"} <= set(WARNING_CODES)
