"""The examples of a chat dataset as an evaluation sees them, read line by line.

An example's prompt is its messages up to (not including) its last assistant message; that
message's text is the ground truth. Lines without such a message are skipped (and counted).
An example's index is its position among the file's non-blank lines, from 0.
"""

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from service.context import Context
from service.datasets.models import storage_name
from service.evaluations.scoring import ScoringMode, dataset_labels

# The keys chat completions accept on a message; fine-tuning's `weight` is not one of them.
MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id", "function_call")


@dataclass(frozen=True, slots=True)
class Example:
    index: int
    messages: list[dict[str, Any]]
    truth: str
    tools: list[Any] | None = None


@dataclass(frozen=True)
class Survey:
    """What a first pass over the dataset learns: counts, the last index, the labels."""

    examples: int
    skipped: int
    last_index: int | None
    labels: list[str]


def read(ctx: Context, dataset_id: str, max_examples: int | None = None
         ) -> Iterator[Example | None]:
    """Each non-blank line in order: its Example, or None when it has no final assistant answer.

    Stops after max_examples examples.
    """
    taken, index = 0, -1
    with ctx.storage.reader(storage_name(dataset_id)) as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace"):
            if not line.strip():
                continue
            index += 1
            if max_examples is not None and taken >= max_examples:
                return
            example = parse(index, line)
            taken += example is not None
            yield example


def examples(ctx: Context, dataset_id: str, max_examples: int | None = None
             ) -> Iterator[Example]:
    """The evaluated examples, in file order."""
    return (example for example in read(ctx, dataset_id, max_examples) if example is not None)


def survey(ctx: Context, dataset_id: str, max_examples: int | None,
           mode: ScoringMode, keep: Callable[[Example], None] | None = None) -> Survey:
    """The first pass; keep (when given) is called with each evaluated example."""
    count = skipped = 0
    last_index: int | None = None
    truths: set[str] = set()
    for example in read(ctx, dataset_id, max_examples):
        if example is None:
            skipped += 1
            continue
        count, last_index = count + 1, example.index
        truths.add(example.truth)
        if keep is not None:
            keep(example)
    return Survey(count, skipped, last_index, dataset_labels(truths, mode))


def chat_request(model: str, example: Example, temperature: float,
                 max_tokens: int | None) -> dict[str, Any]:
    """The chat completion body that asks model for example's answer."""
    body: dict[str, Any] = {"model": model, "messages": example.messages,
                            "temperature": temperature}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if example.tools:
        body["tools"] = example.tools
    return body


def parse(index: int, line: str) -> Example | None:
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list):
        return None
    last = next((i for i in range(len(messages) - 1, -1, -1)
                 if isinstance(messages[i], dict) and messages[i].get("role") == "assistant"),
                None)
    if last is None or last == 0:
        return None
    truth = text_of(messages[last].get("content"))
    if truth is None:
        return None
    prompt = [{key: m[key] for key in MESSAGE_KEYS if key in m}
              for m in messages[:last] if isinstance(m, dict)]
    tools = row.get("tools")
    return Example(index, prompt, truth, tools if isinstance(tools, list) else None)


def text_of(content: object) -> str | None:
    """A message's text: the string, or its text parts joined; None when it has none."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part["text"] for part in content
                 if isinstance(part, dict) and isinstance(part.get("text"), str)]
        return "".join(parts) if parts else None
    return None
