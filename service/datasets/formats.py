"""Which format a dataset file holds, from its first non-blank lines (bounded reads)."""

from pathlib import Path
from typing import Literal

import orjson

Format = Literal["chat", "prompt_completion", "preference", "csv"]

BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 1 << 20
SNIFF_LINES = 5
_KEY_HINTS: tuple[tuple[Format, tuple[bytes, ...]], ...] = (
    ("preference", (b'"preferred_output"', b'"non_preferred_output"')),
    ("chat", (b'"messages"',)),
    ("prompt_completion", (b'"prompt"', b'"completion"')),
)


def read_head(path: str | Path, max_bytes: int = SNIFF_BYTES) -> bytes:
    """The first max_bytes of a file: enough for guess_format."""
    with open(path, "rb") as file:
        return file.read(max_bytes)


def guess_format(head: bytes) -> Format:
    """chat, prompt_completion, preference (JSONL by the first object's keys) or csv (not JSON),
    from a file's first bytes (an upload's first chunk, or read_head of a stored file).

    The one rule for every guess: at upload, to know whether to check the encoding as CSV and
    what to answer first; at validation, to settle the format. A JSONL file of unknown shape, and
    an empty file, are `chat`: its report then says what is missing.
    """
    lines = [line for line in head.removeprefix(BOM).split(b"\n") if line.strip()]
    for number, line in enumerate(lines[:SNIFF_LINES]):
        kind = classify_line(line)
        if kind is None and number == 0:
            return "csv"
        if kind is not None and kind != "jsonl":
            return kind
    return "chat"


def classify_line(line: bytes) -> Format | Literal["jsonl"] | None:
    """The format one line suggests; "jsonl" for JSON of no known shape; None when not JSON."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        # A line cut by the read bound, or broken JSON: judge an object by its key names.
        if not line.lstrip().startswith(b"{"):
            return None
        return next((kind for kind, keys in _KEY_HINTS if all(key in line for key in keys)),
                    "jsonl")
    if not isinstance(value, dict):
        return "jsonl" if isinstance(value, list) else None
    if {"input", "preferred_output", "non_preferred_output"} <= value.keys():
        return "preference"
    if "messages" in value:
        return "chat"
    if {"prompt", "completion"} <= value.keys():
        return "prompt_completion"
    return "jsonl"
