"""Checks a fine-tuning file the way OpenAI does and measures it (examples, tokens).

`analyze` is pure and may run in a worker thread.
"""

import json
from dataclasses import dataclass
from typing import Any

from emulator import tokens
from emulator.catalog import ModelSpec

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
MESSAGE_KEYS = {"role", "content", "name", "weight", "tool_calls", "tool_call_id",
                "function_call", "refusal"}
MIN_EXAMPLES = 10
MAX_REMEMBERED = 50_000


class InvalidLine(ValueError):
    """The first problem in the file; its text names the line."""


@dataclass(frozen=True)
class Analysis:
    n_examples: int = 0
    tokens_per_epoch: int = 0
    examples: tuple[tuple[str, str], ...] = ()  # (prompt text, answer): what the model learns
    error: str | None = None


def analyze(content: bytes, spec: ModelSpec, method: str, *, min_examples: int = MIN_EXAMPLES
            ) -> Analysis:
    """Count and remember the examples, or name the first problem."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Analysis(error="The file is not valid UTF-8.")
    n_examples, total = 0, 0
    examples: list[tuple[str, str]] = []
    try:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            row = parse_line(line, number)
            prompt, answer, n_tokens = measure(row, number, spec, method)
            n_examples += 1
            total += min(n_tokens, spec.context)
            if len(examples) < MAX_REMEMBERED:
                examples.append((prompt, answer))
    except InvalidLine as problem:
        return Analysis(error=str(problem))
    if n_examples < min_examples:
        return Analysis(error=f"The file has {n_examples} example(s), but must have at least "
                              f"{min_examples} examples.")
    return Analysis(n_examples, total, tuple(examples))


def parse_line(line: str, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidLine(f"Line {number} is not valid JSON: {exc.msg}.") from None
    if not isinstance(row, dict):
        raise InvalidLine(f"Line {number} is not a JSON object.")
    return row


def measure(row: dict[str, Any], number: int, spec: ModelSpec, method: str
            ) -> tuple[str, str, int]:
    """(prompt text, answer, tokens) of one example, by the file format the model expects."""
    if spec.kind == "completion":
        return measure_completion(row, number, spec.encoding)
    if method == "dpo":
        return measure_preference(row, number, spec.encoding)
    messages = check_messages(row.get("messages"), number, "messages")
    assistant = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    if not assistant:
        raise InvalidLine(f"Line {number}: the example has no assistant message.")
    last = assistant[-1]
    prompt = prompt_text(messages[:last])
    answer = tokens.content_text(messages[last].get("content"))
    return prompt, answer, tokens.count_messages(messages, spec.encoding)


def measure_completion(row: dict[str, Any], number: int, encoding: str) -> tuple[str, str, int]:
    prompt, completion = row.get("prompt"), row.get("completion")
    if not isinstance(prompt, str) or not isinstance(completion, str):
        raise InvalidLine(f"Line {number}: expected string fields 'prompt' and 'completion'.")
    return prompt, completion, tokens.count(prompt, encoding) + tokens.count(completion, encoding)


def measure_preference(row: dict[str, Any], number: int, encoding: str) -> tuple[str, str, int]:
    source = row.get("input")
    if not isinstance(source, dict):
        raise InvalidLine(f"Line {number}: missing 'input' object with 'messages'.")
    messages = check_messages(source.get("messages"), number, "input.messages")
    outputs = []
    for key in ("preferred_output", "non_preferred_output"):
        output = check_messages(row.get(key), number, key)
        if len(output) != 1 or output[0]["role"] != "assistant":
            raise InvalidLine(f"Line {number}: '{key}' must hold exactly one assistant message.")
        outputs.append(output[0])
    answer = tokens.content_text(outputs[0].get("content"))
    n_tokens = tokens.count_messages([*messages, *outputs], encoding)
    return prompt_text(messages), answer, n_tokens


def check_messages(messages: object, number: int, key: str) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise InvalidLine(f"Line {number}: missing '{key}' list.")
    for index, message in enumerate(messages, start=1):
        where = f"Line {number}, {key}[{index}]"
        if not isinstance(message, dict):
            raise InvalidLine(f"{where}: each message must be an object.")
        if "role" not in message:
            raise InvalidLine(f"{where}: message is missing the 'role' key.")
        if message["role"] not in ROLES:
            raise InvalidLine(f"{where}: unrecognized role {message['role']!r}.")
        unknown = sorted(set(message) - MESSAGE_KEYS)
        if unknown:
            raise InvalidLine(f"{where}: unrecognized key {unknown[0]!r}.")
        check_content(message, where)
        if message.get("weight") not in (None, 0, 1):
            raise InvalidLine(f"{where}: 'weight' must be 0 or 1.")
    return messages


def check_content(message: dict[str, Any], where: str) -> None:
    content = message.get("content")
    calls = message.get("tool_calls") or message.get("function_call")
    if content is None and not (message["role"] == "assistant" and calls):
        raise InvalidLine(f"{where}: message is missing 'content'.")
    if content is not None and not isinstance(content, str | list):
        raise InvalidLine(f"{where}: 'content' must be a string or a list of content parts.")


def prompt_text(messages: list[dict[str, Any]]) -> str:
    """What a model sees before it answers: every message's text, in order."""
    return "\n".join(tokens.content_text(m.get("content")) for m in messages)
