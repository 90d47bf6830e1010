"""Checks on training examples: plain functions answering (code, message) issues.

Error codes follow OpenAI's data-preparation cookbook (invalid_json …
example_missing_assistant_message) plus the shapes it leaves out. Message-level errors are
counted once per message, as the cookbook does. Where it is silent:

- `message_missing_key`: no `role`, or no `content` on a message that has no `tool_calls` /
  `function_call`; `missing_content`: `content` present but null or "" (and no tool call);
  `invalid_content`: content neither a string nor a list of content parts.
- `missing_system_message` accepts a `developer` message as the system message.

Dataset-level warnings, decided here:
- `label_imbalance`: labels were detected and the largest class has more than
  LABEL_IMBALANCE_RATIO (5) times the examples of the smallest.
- `too_few_examples`: fewer than MIN_EXAMPLES (10) valid examples, OpenAI's minimum.
- `missing_common_suffix` / `missing_common_ending`: the legacy `fine_tunes.prepare_data` advice
  for prompt_completion files (prompts should end with one separator, completions with one stop).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Issue = tuple[str, str]

ERROR_CODES: tuple[str, ...] = (
    "invalid_json", "data_type", "missing_messages_list", "message_missing_key",
    "message_unrecognized_key", "unrecognized_role", "missing_content",
    "example_missing_assistant_message", "invalid_content", "invalid_name", "invalid_weight",
    "invalid_tool_call", "invalid_tools", "missing_prompt", "missing_completion",
    "invalid_prompt", "invalid_completion", "missing_input", "missing_preferred_output",
    "missing_non_preferred_output", "invalid_preference_output", "invalid_encoding",
    "line_too_long",
)
WARNING_CODES: tuple[str, ...] = (
    "missing_system_message", "missing_user_message", "over_token_limit", "duplicate_example",
    "too_few_examples", "label_imbalance", "train_validation_overlap", "unexpected_label",
    "missing_common_suffix", "completion_missing_leading_space", "missing_common_ending",
)

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "function_call", "tool_calls",
                          "tool_call_id"})
MIN_EXAMPLES = 10
LABEL_IMBALANCE_RATIO = 5.0
_SHOWN = 40


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def check_chat(example: Any) -> list[Issue]:
    """Errors of one chat example (`{"messages": [...], "tools": [...]}`)."""
    if not isinstance(example, dict):
        return [("data_type", f"Example is a JSON {_json_type(example)}, not an object.")]
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return [("missing_messages_list", 'Example has no non-empty "messages" list.')]
    issues = check_messages(messages)
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        issues.append(("example_missing_assistant_message", "Example has no assistant message."))
    for key in ("tools", "functions"):
        if key in example:
            issues.extend(check_tools(example[key], key))
    return issues


def check_messages(messages: list[Any]) -> list[Issue]:
    """Errors of each message of a list, numbered from 1."""
    issues: list[Issue] = []
    for number, message in enumerate(messages, 1):
        if type(message) is dict and len(message) == 2:
            # The common case, {"role": ..., "content": "..."}, in one test.
            role, content = message.get("role"), message.get("content")
            if type(content) is str and content and type(role) is str and role in _PLAIN_ROLES:
                continue
        if not isinstance(message, dict):
            issues.append(("data_type", (f"Message {number} is a JSON {_json_type(message)}, "
                                        "not an object.")))
        else:
            issues.extend(check_message(message, number))
    return issues


def check_message(message: dict[str, Any], number: int) -> list[Issue]:
    """Errors of one message (a JSON object)."""
    issues: list[Issue] = []
    role = message.get("role")
    calls = message.get("tool_calls") or message.get("function_call")
    if "role" not in message:
        issues.append(("message_missing_key", f'Message {number} has no "role".'))
    elif not isinstance(role, str) or role not in ROLES:
        issues.append(("unrecognized_role", (f"Message {number} has role {_shown(role)}; expected "
                                            "system, developer, user, assistant or tool.")))
    if not message.keys() <= MESSAGE_KEYS:
        extra = ", ".join(sorted(map(_shown, message.keys() - MESSAGE_KEYS)))
        issues.append(("message_unrecognized_key", (f"Message {number} has unrecognized keys: "
                                                   f"{extra}.")))
    if "content" not in message:
        if not calls:
            issues.append(("message_missing_key", f'Message {number} has no "content".'))
    else:
        issues.extend(_check_content(message["content"], number, bool(calls)))
    if "name" in message and not isinstance(message["name"], str):
        issues.append(("invalid_name", f'Message {number} has a "name" that is not a string.'))
    if "weight" in message:
        issues.extend(_check_weight(message["weight"], role, number))
    issues.extend(_check_calls(message, role, number))
    return issues


def _check_content(content: Any, number: int, has_calls: bool) -> list[Issue]:
    if isinstance(content, str):
        if content or has_calls:
            return []
        return [("missing_content", f"Message {number} has empty content.")]
    if content is None:
        return [] if has_calls else [("missing_content", f"Message {number} has null content.")]
    if not isinstance(content, list):
        return [("invalid_content", (f"Message {number} has content of type "
                                     f"{_json_type(content)}; expected a string or a list of "
                                     "parts."))]
    if not content:
        return [("missing_content", f"Message {number} has an empty list of content parts.")]
    for index, part in enumerate(content, 1):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            return [("invalid_content", (f"Message {number}, content part {index} is not an "
                                        'object with a "type".'))]
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            return [("invalid_content", (f"Message {number}, content part {index} is a text part "
                                        'without a string "text".'))]
    return []


def _check_weight(weight: Any, role: Any, number: int) -> list[Issue]:
    if role != "assistant":
        return [("invalid_weight", (f'Message {number} has a "weight" but only assistant messages '
                                   "may."))]
    if isinstance(weight, bool) or weight not in (0, 1):
        return [("invalid_weight", (f"Message {number} has weight {_shown(weight)}; expected 0 "
                                   "or 1."))]
    return []


def _check_calls(message: dict[str, Any], role: Any, number: int) -> list[Issue]:
    if ("tool_call_id" in message or role == "tool") and not isinstance(
            message.get("tool_call_id"), str):
        return [("invalid_tool_call", f'Message {number} has no string "tool_call_id".')]
    if "tool_calls" not in message and "function_call" not in message:
        return []
    if role != "assistant":
        return [("invalid_tool_call", (f"Message {number} has tool calls but only assistant "
                                      "messages may."))]
    if "function_call" in message and not _is_function(message["function_call"]):
        return [("invalid_tool_call", (f'Message {number} has a "function_call" that is not '
                                      '{"name": str, "arguments": str}.'))]
    calls = message.get("tool_calls", [])
    if not isinstance(calls, list) or ("tool_calls" in message and not calls):
        return [("invalid_tool_call", (f'Message {number} has "tool_calls" that is not a '
                                      "non-empty list."))]
    for index, call in enumerate(calls, 1):
        if not (isinstance(call, dict) and isinstance(call.get("id"), str)
                and call.get("type") == "function" and _is_function(call.get("function"))):
            return [("invalid_tool_call", (f"Message {number}, tool call {index} is not "
                                          '{"id": str, "type": "function", "function": '
                                          '{"name": str, "arguments": str}}.'))]
    return []


def _is_function(function: Any) -> bool:
    return (isinstance(function, dict) and isinstance(function.get("name"), str)
            and isinstance(function.get("arguments"), str))


def check_tools(tools: Any, key: str = "tools") -> list[Issue]:
    """Errors of an example's `tools` list ({"type": "function", "function": {"name", ...}})."""
    if not isinstance(tools, list):
        return [("invalid_tools", f'"{key}" is not a list.')]
    kind = "Tool" if key == "tools" else "Function"
    for index, tool in enumerate(tools, 1):
        function = tool.get("function") if key == "tools" and isinstance(tool, dict) else tool
        if key == "tools" and not (isinstance(tool, dict) and tool.get("type") == "function"):
            return [("invalid_tools", f'Tool {index} is not an object with "type": "function".')]
        if not (isinstance(function, dict) and isinstance(function.get("name"), str)):
            return [("invalid_tools", f"{kind} {index} has no string name.")]
        if not isinstance(function.get("parameters", {}), dict):
            return [("invalid_tools", f"{kind} {index} has parameters that are not an object.")]
    return []


def check_prompt_completion(example: Any) -> list[Issue]:
    """Errors of one legacy `{"prompt": str, "completion": str}` example."""
    if not isinstance(example, dict):
        return [("data_type", f"Example is a JSON {_json_type(example)}, not an object.")]
    issues: list[Issue] = []
    for key in ("prompt", "completion"):
        if key not in example:
            issues.append((f"missing_{key}", f'Example has no "{key}".'))
        elif not isinstance(example[key], str):
            issues.append((f"invalid_{key}", (f'Example has a "{key}" of type '
                                             f"{_json_type(example[key])}, not a string.")))
    return issues


def check_preference(example: Any) -> list[Issue]:
    """Errors of one DPO example (`input.messages`, `preferred_output`, `non_preferred_output`)."""
    if not isinstance(example, dict):
        return [("data_type", f"Example is a JSON {_json_type(example)}, not an object.")]
    given = example.get("input")
    if not isinstance(given, dict):
        issues = [("missing_input", 'Example has no "input" object.')]
    elif not isinstance(given.get("messages"), list) or not given["messages"]:
        issues = [("missing_messages_list", 'Example has no non-empty "input.messages" list.')]
    else:
        issues = check_messages(given["messages"])
        if "tools" in given:
            issues.extend(check_tools(given["tools"]))
    for key in ("preferred_output", "non_preferred_output"):
        issues.extend(_check_output(example, key))
    return issues


def _check_output(example: dict[str, Any], key: str) -> list[Issue]:
    if key not in example:
        return [(f"missing_{key}", f'Example has no "{key}".')]
    output = example[key]
    if not isinstance(output, list) or not any(
            isinstance(m, dict) and m.get("role") == "assistant" for m in output):
        return [("invalid_preference_output", (f'"{key}" is not a list holding an assistant '
                                              "message."))]
    return [(code, f"{key}: {text}") for code, text in check_messages(output)]


CHECKS = {"chat": check_chat, "prompt_completion": check_prompt_completion,
          "preference": check_preference}


def conversation_warnings(messages: list[dict[str, Any]], *, system: bool = True) -> list[Issue]:
    """missing_system_message / missing_user_message for one valid conversation."""
    roles = {m["role"] for m in messages}
    issues: list[Issue] = []
    if system and not roles & {"system", "developer"}:
        issues.append(("missing_system_message", "Example has no system message."))
    if "user" not in roles:
        issues.append(("missing_user_message", "Example has no user message."))
    return issues


def completion_warnings(completion: str) -> list[Issue]:
    """The legacy advice that a completion start with a space."""
    if completion[:1].isspace():
        return []
    return [("completion_missing_leading_space", ("Completion does not start with a space; "
                                                 "tokenization works better if it does."))]


def example_hash(line: bytes) -> int:
    """An 8-byte blake2b of an example's line without surrounding whitespace: exact duplicates
    (byte for byte) have equal hashes."""
    return int.from_bytes(hashlib.blake2b(line.strip(), digest_size=8).digest(), "little")


def common_suffix(current: str | None, text: str) -> str:
    """The longest common ending of current (None: nothing seen yet) and text."""
    if current is None or text.endswith(current):
        return text if current is None else current
    size = 0
    limit = min(len(current), len(text))
    while size < limit and current[-1 - size] == text[-1 - size]:
        size += 1
    return current[len(current) - size:]


def find_duplicates(hashes: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.intp],
                                                             npt.NDArray[np.intp]]:
    """(repeat, first): indices of examples equal to an earlier one, and the earlier one's."""
    import numpy as np  # here: report workers import this module and should not carry numpy

    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    group = np.cumsum(np.concatenate(([True], ~same))) - 1
    repeat = order[1:][same]
    first = order[starts[group[1:][same]]]
    by_position = np.argsort(repeat, kind="stable")
    return repeat[by_position], first[by_position]


def label_imbalance(counts: Mapping[str, int]) -> Issue | None:
    """A warning when the largest label class exceeds LABEL_IMBALANCE_RATIO × the smallest."""
    if len(counts) < 2:
        return None
    largest = max(counts, key=lambda label: counts[label])
    smallest = min(counts, key=lambda label: counts[label])
    if counts[largest] <= LABEL_IMBALANCE_RATIO * counts[smallest]:
        return None
    return ("label_imbalance", (f"Label {_shown(largest)} has {counts[largest]} examples, "
                               f"{counts[largest] / counts[smallest]:.1f}× the "
                               f"{counts[smallest]} of {_shown(smallest)}."))


def too_few_examples(valid: int) -> Issue | None:
    """OpenAI needs at least MIN_EXAMPLES examples."""
    if valid >= MIN_EXAMPLES:
        return None
    return ("too_few_examples", f"{valid} valid examples; OpenAI needs at least {MIN_EXAMPLES}.")


def unexpected_label(label: str | None, expected: Collection[str]) -> Issue | None:
    """A warning when the final answer is not one of the expected labels."""
    if label is None or label in expected:
        return None
    return ("unexpected_label", f"Final answer {_shown(label)} is not one of the expected labels.")
