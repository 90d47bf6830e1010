"""The public recipe, as OpenAI's cookbook writes it ("Data preparation and analysis for chat
model fine-tuning"): the whole file into a list, `json.loads`, `encoding.encode` per value,
numpy statistics. The reference the report engine is measured against."""

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import tiktoken

MAX_TOKENS_PER_EXAMPLE = 65536
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def naive_report(path: str | Path, encoding_name: str = "cl100k_base",
                 max_tokens: int = MAX_TOKENS_PER_EXAMPLE) -> dict[str, Any]:
    """The cookbook's checks, counts and billing estimate for a chat JSONL file."""
    encoding = tiktoken.get_encoding(encoding_name)
    with open(path, encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]

    format_errors: dict[str, int] = defaultdict(int)
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
            if any(k not in ("role", "content", "name", "function_call", "weight")
                   for k in message):
                format_errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1

    def num_tokens_from_messages(messages: list[dict[str, str]], tokens_per_message: int = 3,
                                 tokens_per_name: int = 1) -> int:
        num_tokens = 0
        for message in messages:
            num_tokens += tokens_per_message
            for key, value in message.items():
                num_tokens += len(encoding.encode(value))
                if key == "name":
                    num_tokens += tokens_per_name
        num_tokens += 3
        return num_tokens

    def num_assistant_tokens_from_messages(messages: list[dict[str, str]]) -> int:
        num_tokens = 0
        for message in messages:
            if message["role"] == "assistant":
                num_tokens += len(encoding.encode(message["content"]))
        return num_tokens

    n_missing_system = n_missing_user = 0
    n_messages, convo_lens, assistant_message_lens = [], [], []
    for ex in dataset:
        messages = ex["messages"]
        if not any(message["role"] == "system" for message in messages):
            n_missing_system += 1
        if not any(message["role"] == "user" for message in messages):
            n_missing_user += 1
        n_messages.append(len(messages))
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_message_lens.append(num_assistant_tokens_from_messages(messages))

    def distribution(values: list[int]) -> dict[str, float]:
        return {"min": min(values), "max": max(values), "mean": float(np.mean(values)),
                "median": float(np.median(values)), "p5": float(np.quantile(values, 0.05)),
                "p95": float(np.quantile(values, 0.95)), "sum": int(np.sum(values))}

    n_epochs = TARGET_EPOCHS
    n_train_examples = len(dataset)
    if n_train_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        n_epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_train_examples)
    elif n_train_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        n_epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_train_examples)
    billing = sum(min(max_tokens, length) for length in convo_lens)
    return {"examples": len(dataset), "format_errors": dict(format_errors),
            "missing_system": n_missing_system, "missing_user": n_missing_user,
            "messages_per_example": distribution(n_messages),
            "total": distribution(convo_lens), "assistant": distribution(assistant_message_lens),
            "over_limit": sum(length > max_tokens for length in convo_lens),
            "n_epochs": n_epochs, "tokens_per_epoch": billing,
            "trained_tokens": billing * n_epochs}
