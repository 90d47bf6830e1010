"""Token counts with tiktoken, following OpenAI's published recipe for chat messages."""

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import tiktoken

FALLBACK_PIECES = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")


@lru_cache(maxsize=4)
def load(encoding: str) -> tiktoken.Encoding | None:
    """The tiktoken encoding, or None when it cannot be loaded (no cache, no network)."""
    try:
        return tiktoken.get_encoding(encoding)
    except Exception:
        return None


def encode(text: str, encoding: str) -> list[Any]:
    """Tokens of text: ids from tiktoken, or word pieces when tiktoken is unavailable."""
    enc = load(encoding)
    if enc is None:
        return FALLBACK_PIECES.findall(text)
    return enc.encode(text, disallowed_special=())


def decode(tokens: list[Any], encoding: str) -> str:
    enc = load(encoding)
    if enc is None:
        return "".join(tokens)
    return enc.decode(tokens)


def count(text: str, encoding: str) -> int:
    return len(encode(text, encoding)) if text else 0


def content_text(content: object) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def count_messages(messages: Iterable[Mapping[str, Any]], encoding: str) -> int:
    """3 per message + content + (name + 1 per name) + 3 to prime the reply."""
    total = 3
    for message in messages:
        total += 3 + count(content_text(message.get("content")), encoding)
        if isinstance(message.get("name"), str):
            total += 1 + count(message["name"], encoding)
        for call in message.get("tool_calls") or []:
            function = call.get("function", {}) if isinstance(call, dict) else {}
            total += count(str(function.get("name", "")), encoding)
            total += count(str(function.get("arguments", "")), encoding)
    return total
