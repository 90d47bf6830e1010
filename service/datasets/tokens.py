"""Token counts by OpenAI's published recipe (the cookbook's `num_tokens_from_messages`).

Chat: 3 per message, plus the tokens of each value (role, content, name), plus 1 per `name`,
plus 3 per example. Where the recipe says nothing, this module decides:

- `content` as a list of parts counts its `text` parts only (images and audio are billed by
  other rules); `content: null` (an assistant turn holding only tool calls) counts 0.
- `tool_calls`, `function_call` (per message) and `tools`, `functions` (per example) count the
  tokens of their compact JSON (keys in file order). OpenAI renders them in an internal format,
  so these are close estimates, not exact; `tool_call_id` counts as text; `weight` counts 0.
- Assistant tokens: the content (and tool-call JSON) of assistant messages, as the cookbook's
  `num_assistant_tokens_from_messages`; `weight` does not change them.
- Text is encoded like `encoding.encode(text, disallowed_special=())`: a special token's text
  (`<|endoftext|>`) is ordinary text, where the cookbook's `encode(text)` would raise.
- prompt_completion: tokens of prompt + completion (completion = assistant tokens).
- preference: the chat recipe over `input.messages` + `preferred_output` (with input tools);
  assistant tokens are the preferred output's.
"""

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import tiktoken
import tiktoken.model
import tiktoken_ext.openai_public

from service.errors import TokenizerUnavailable
from service.logs import log

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_PER_EXAMPLE = 3

_O200K_FAMILY = re.compile(r"^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o\d)")
_CACHE_ENTRIES = 512
_CACHE_MAX_CHARS = 8192
RETRY_LOAD_SECONDS = 30.0
_unavailable: dict[str, float] = {}  # encoding → when loading it last failed


def base_model(model: str) -> str:
    """The base model of a fine-tuned name (`ft:gpt-4o-mini-2024-07-18:org::id`), else model."""
    if model.startswith("ft:"):
        return model.split(":", 2)[1]
    return model


def encoding_name_for(model: str) -> str:
    """tiktoken's encoding name for model (fine-tuned names use their base), without loading it."""
    name = base_model(model)
    try:
        return tiktoken.model.encoding_name_for_model(name)
    except KeyError:
        return "o200k_base" if _O200K_FAMILY.match(name) else "cl100k_base"


def encoding_for(model: str) -> tiktoken.Encoding:
    """The tiktoken Encoding for model; offline it needs TIKTOKEN_CACHE_DIR."""
    return load_encoding(encoding_name_for(model))


def load_encoding(name: str) -> tiktoken.Encoding:
    """tiktoken's Encoding, read from its cache directory or downloaded once; else
    TokenizerUnavailable. A failure is remembered a while, so a host without egress does not
    try the download on every request."""
    failed_at = _unavailable.get(name)
    if failed_at is not None and time.monotonic() - failed_at < RETRY_LOAD_SECONDS:
        raise TokenizerUnavailable(name)
    try:
        encoding = tiktoken.get_encoding(name)
    except (OSError, ValueError) as exc:  # requests' errors are OSErrors; ValueError: bad hash
        _unavailable[name] = time.monotonic()
        log.error("tokenizer.unavailable", encoding=name, error=type(exc).__name__)
        raise TokenizerUnavailable(name) from None
    _unavailable.pop(name, None)
    return encoding


def unavailable_encodings(models: Sequence[str]) -> list[str]:
    """The encodings of these models that cannot be loaded now."""
    missing = []
    for name in dict.fromkeys(encoding_name_for(model) for model in models):
        try:
            load_encoding(name)
        except TokenizerUnavailable:
            missing.append(name)
    return missing


def lean_encoding(name: str) -> tiktoken.Encoding:
    """A private Encoding for a worker process: it encodes, but without the Python dict of its
    ranks (~25 MB for o200k; the Rust core has its own copy) it cannot decode single tokens."""
    encoding = tiktoken.Encoding(**tiktoken_ext.openai_public.ENCODING_CONSTRUCTORS[name]())
    encoding._mergeable_ranks = {}
    return encoding


class TokenCounter:
    """Counts tokens of validated examples; repeated short strings (roles, system prompts,
    tool lists) are encoded once."""

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self._encode: Callable[[str], list[int]] = encoding.encode_ordinary
        self._cache: dict[str, int] = {}

    def text(self, text: str) -> int:
        return len(self._encode(text))

    def repeated(self, text: str) -> int:
        """Tokens of a string likely seen before (a role, a system prompt, a tools list)."""
        count = self._cache.get(text)
        if count is None:
            count = len(self._encode(text))
            if len(text) <= _CACHE_MAX_CHARS:
                if len(self._cache) >= _CACHE_ENTRIES:
                    self._cache.clear()
                self._cache[text] = count
        return count

    def as_json(self, value: Any) -> int:
        return self.repeated(orjson.dumps(value).decode())

    def content(self, content: Any, role: Any) -> int:
        if isinstance(content, str):
            if role == "system" or role == "developer":
                return self.repeated(content)
            return len(self._encode(content))
        if isinstance(content, list):
            return sum(len(self._encode(part["text"])) for part in content
                       if part.get("type") == "text")
        return 0

    def chat(self, messages: Sequence[Mapping[str, Any]], example: Mapping[str, Any],
             trained_from: int = 0) -> tuple[int, int]:
        """(total, assistant) tokens of messages; assistant counts from index trained_from."""
        encode, repeated, seen = self._encode, self.repeated, self._cache
        total = TOKENS_PER_EXAMPLE
        assistant = 0
        for index, message in enumerate(messages):
            role = message["role"]
            content = message.get("content")
            if type(content) is not str:
                count = self.content(content, role)
            elif role == "system" or role == "developer":
                count = seen.get(content) or repeated(content)
            else:
                count = len(encode(content))
            if len(message) > 2:
                for key, value in message.items():
                    if key == "name":
                        total += repeated(value) + TOKENS_PER_NAME
                    elif key == "tool_calls" or key == "function_call":
                        count += self.as_json(value)
                    elif key == "tool_call_id":
                        total += len(encode(value))
            total += TOKENS_PER_MESSAGE + (seen.get(role) or repeated(role)) + count
            if role == "assistant" and index >= trained_from:
                assistant += count
        for key in ("tools", "functions"):
            if example.get(key):
                total += self.as_json(example[key])
        return total, assistant

    def prompt_completion(self, example: Mapping[str, Any]) -> tuple[int, int]:
        completion = self.text(example["completion"])
        return self.text(example["prompt"]) + completion, completion

    def preference(self, example: Mapping[str, Any]) -> tuple[int, int]:
        given = example["input"]["messages"]
        return self.chat([*given, *example["preferred_output"]], example["input"],
                         trained_from=len(given))
