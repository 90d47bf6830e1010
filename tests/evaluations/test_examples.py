"""What one dataset line asks and expects: pure parsing, no services."""

import json

from service.evaluations.examples import chat_request, parse
from service.evaluations.predictions import input_text


def line(messages, **extra):
    return json.dumps({"messages": messages, **extra})


def test_the_prompt_stops_before_the_last_assistant_message_which_is_the_truth():
    messages = [{"role": "system", "content": "Classify."},
                {"role": "user", "content": "a", "weight": 0},
                {"role": "assistant", "content": "first", "weight": 0},
                {"role": "user", "content": "b"},
                {"role": "assistant", "content": "Positive", "weight": 1},
                {"role": "user", "content": "thanks"}]
    example = parse(7, line(messages))
    assert example is not None
    assert example.index == 7
    assert example.truth == "Positive"
    assert example.messages == [{"role": "system", "content": "Classify."},
                                {"role": "user", "content": "a"},
                                {"role": "assistant", "content": "first"},
                                {"role": "user", "content": "b"}]


def test_lines_without_a_final_assistant_answer_are_skipped():
    assert parse(0, line([{"role": "user", "content": "q"}])) is None
    assert parse(0, line([{"role": "assistant", "content": "alone"}])) is None
    assert parse(0, line([{"role": "user", "content": "q"},
                          {"role": "assistant", "tool_calls": []}])) is None
    assert parse(0, "not json") is None
    assert parse(0, json.dumps({"prompt": "p", "completion": "c"})) is None


def test_content_parts_are_joined_and_tools_are_sent():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    example = parse(0, line([{"role": "user", "content": "q"},
                             {"role": "assistant", "content": [{"type": "text", "text": "Po"},
                                                               {"type": "text", "text": "s"}]}],
                            tools=tools))
    assert example is not None
    assert example.truth == "Pos"
    body = chat_request("m", example, 0.0, 5)
    assert body == {"model": "m", "messages": [{"role": "user", "content": "q"}],
                    "temperature": 0.0, "max_tokens": 5, "tools": tools}
    assert "max_tokens" not in chat_request("m", example, 0.0, None)


def test_kept_inputs_cut_long_text_and_show_other_content_as_json() -> None:
    assert input_text("a" * 2000) == "a" * 2000
    assert input_text("b" * 2001) == "b" * 1999 + "…"
    assert input_text([{"type": "text", "text": "hi"}]) == '[{"type":"text","text":"hi"}]'
    assert input_text(None) is None
