"""One pass over a byte range of a JSONL dataset: the work each report process does.

A range holds whole lines (it starts after a newline); the file is read in blocks, so memory
stays bounded by the block plus max_line_bytes whatever the file and its lines look like.
What a range yields is compact: per valid example four uint32 and one uint64, counters, the
first samples of each issue code, a bounded label tally and the running common suffixes.
"""

from __future__ import annotations

import os
import threading
import time
from array import array
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
import tiktoken

from service.datasets import validate
from service.datasets.formats import BOM
from service.datasets.tokens import TokenCounter, lean_encoding

READ_BLOCK = 1 << 20
SAMPLES_PER_CODE = 20
MAX_LABELS = 50
MAX_LABEL_CHARS = 1000
MAX_CONTENT_CHARS = 500

Sample = tuple[int, str, str]


@dataclass
class RangeScan:
    """What one range holds; line numbers are 1-based within the range."""

    lines: int = 0
    blank_lines: int = 0
    examples: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    error_samples: list[Sample] = field(default_factory=list)
    warning_samples: list[Sample] = field(default_factory=list)
    total: array[int] = field(default_factory=lambda: array("I"))
    assistant: array[int] = field(default_factory=lambda: array("I"))
    messages: array[int] = field(default_factory=lambda: array("I"))
    line: array[int] = field(default_factory=lambda: array("I"))
    hashes: array[int] = field(default_factory=lambda: array("Q"))
    labels: dict[str, int] | None = field(default_factory=dict)
    prompt_suffix: str | None = None
    completion_suffix: str | None = None

    def error(self, line: int, code: str, message: str) -> None:
        self.errors[code] += 1
        if self.errors[code] <= SAMPLES_PER_CODE:
            self.error_samples.append((line, code, message))

    def warning(self, line: int, code: str, message: str) -> None:
        self.warnings[code] += 1
        if self.warnings[code] <= SAMPLES_PER_CODE:
            self.warning_samples.append((line, code, message))

    def count_label(self, label: str | None) -> None:
        if self.labels is None:
            return
        if label is None or len(label) > MAX_LABEL_CHARS or (
                label not in self.labels and len(self.labels) >= MAX_LABELS):
            self.labels = None  # free text, not a label: stop tallying
            return
        self.labels[label] = self.labels.get(label, 0) + 1


def line_ranges(path: str | Path, chunk_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges of about chunk_bytes covering the file, each starting after a newline."""
    size = os.path.getsize(path)
    starts = [0]
    with open(path, "rb") as file:
        while starts[-1] + chunk_bytes < size:
            file.seek(starts[-1] + chunk_bytes - 1)
            start = _after_newline(file)
            if start >= size:
                break
            starts.append(start)
    return list(zip(starts, [*starts[1:], size], strict=True))


def _after_newline(file: IO[bytes]) -> int:
    while block := file.read(1 << 16):
        found = block.find(b"\n")
        if found >= 0:
            return file.tell() - len(block) + found + 1
    return file.tell()


def iter_lines(file: IO[bytes], end: int, max_line_bytes: int,
               block_bytes: int = READ_BLOCK) -> Iterator[bytes | None]:
    """Each physical line up to byte end, without its newline; None for a line over the limit,
    which is skipped to its newline without being held."""
    remaining = end - file.tell()
    parts: list[bytes] = []
    held = 0
    skipping = False
    while remaining > 0 and (block := file.read(min(block_bytes, remaining))):
        remaining -= len(block)
        pos = 0
        while (newline := block.find(b"\n", pos)) >= 0:
            if skipping:
                skipping = False
                yield None
            elif held + newline - pos > max_line_bytes:
                yield None
            elif parts:
                parts.append(block[pos:newline])
                yield b"".join(parts)
            else:
                yield block[pos:newline]
            parts, held, pos = [], 0, newline + 1
        if pos < len(block) and not skipping:
            if held + len(block) - pos > max_line_bytes:
                parts, held, skipping = [], 0, True
            else:
                parts.append(block[pos:])
                held += len(block) - pos
    if skipping:
        yield None
    elif parts:
        yield b"".join(parts)


def attach_contents(path: str | Path, samples: list[dict[str, Any]], max_line_bytes: int) -> None:
    """Give each sample the text of its line as `content` (null for a dataset-level finding or
    a line over max_line_bytes), reading the file only as far as the last sampled line."""
    wanted = {sample["line"] for sample in samples if sample["line"]}
    found: dict[int, str | None] = {}
    if wanted:
        last = max(wanted)
        with open(path, "rb") as file:
            lines = iter_lines(file, os.path.getsize(path), max_line_bytes)
            for number, line in enumerate(lines, 1):
                if number in wanted:
                    found[number] = None if line is None else line_text(line)
                if number >= last:
                    break
    for sample in samples:
        sample["content"] = found.get(sample["line"]) if sample["line"] else None


def line_text(line: bytes, limit: int = MAX_CONTENT_CHARS) -> str:
    """A line as text: undecodable bytes replaced, at most limit characters (then "…")."""
    text = line[:4 * limit + 4].removeprefix(BOM).decode("utf-8", "replace").removesuffix("\r")
    return text if len(text) <= limit else f"{text[:limit - 1]}…"


class Scanner:
    """Validates, measures and hashes the examples of ranges of one file format."""

    def __init__(self, fmt: str, encoding: tiktoken.Encoding, max_line_bytes: int,
                 expected_labels: Collection[str] | None = None) -> None:
        self.fmt = fmt
        self.check = validate.CHECKS[fmt]
        self.counter = TokenCounter(encoding)
        self.max_line_bytes = max_line_bytes
        self.expected = frozenset(expected_labels) if expected_labels is not None else None

    def scan(self, path: str | Path, start: int, end: int) -> RangeScan:
        """Everything the report needs from the lines in [start, end)."""
        result = RangeScan()
        with open(path, "rb") as file:
            file.seek(start)
            for number, line in enumerate(iter_lines(file, end, self.max_line_bytes), 1):
                result.lines = number
                if number == 1 and start == 0 and line is not None:
                    line = line.removeprefix(BOM)
                if line is None:
                    result.examples += 1
                    result.error(number, "line_too_long",
                                 f"Line is longer than {self.max_line_bytes} bytes; skipped.")
                elif not line or line.isspace():
                    result.blank_lines += 1
                else:
                    result.examples += 1
                    self._example(line, number, result)
        return result

    def _example(self, line: bytes, number: int, result: RangeScan) -> None:
        try:
            example = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            result.error(number, *_parse_error(line, exc))
            return
        issues = self.check(example)
        if issues:
            for code, message in issues:
                result.error(number, code, message)
            return
        total, assistant, n_messages, label, warnings = self._measure(example, result)
        for code, message in warnings:
            result.warning(number, code, message)
        if self.expected is not None:
            issue = validate.unexpected_label(label, self.expected)
            if issue:
                result.warning(number, *issue)
        result.count_label(label)
        result.total.append(total)
        result.assistant.append(assistant)
        result.messages.append(n_messages)
        result.line.append(number)
        result.hashes.append(validate.example_hash(line))

    def _measure(self, example: dict[str, Any], result: RangeScan
                 ) -> tuple[int, int, int, str | None, list[validate.Issue]]:
        if self.fmt == "chat":
            messages = example["messages"]
            total, assistant = self.counter.chat(messages, example)
            return (total, assistant, len(messages), _final_answer(messages),
                    validate.conversation_warnings(messages))
        if self.fmt == "prompt_completion":
            prompt, completion = example["prompt"], example["completion"]
            result.prompt_suffix = validate.common_suffix(result.prompt_suffix, prompt)
            result.completion_suffix = validate.common_suffix(result.completion_suffix, completion)
            total, assistant = self.counter.prompt_completion(example)
            return total, assistant, 2, completion.strip(), validate.completion_warnings(completion)
        given, preferred = example["input"]["messages"], example["preferred_output"]
        total, assistant = self.counter.preference(example)
        return (total, assistant, len(given) + len(preferred), _final_answer(preferred),
                validate.conversation_warnings(given, system=False))


def _final_answer(messages: list[dict[str, Any]]) -> str | None:
    for message in reversed(messages):
        if message["role"] == "assistant":
            content = message.get("content")
            return content.strip() if isinstance(content, str) else None
    return None


def _parse_error(line: bytes, exc: orjson.JSONDecodeError) -> tuple[str, str]:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return "invalid_encoding", f"Line is not valid UTF-8 (byte {bad.start + 1} of the line)."
    reason = str(exc)
    return "invalid_json", f"Line is not valid JSON: {reason[:200]}"


_scanner: Scanner | None = None


def start_worker(fmt: str, encoding_name: str, max_line_bytes: int,
                 expected_labels: Collection[str] | None) -> None:
    """Process-pool initializer: build the one Scanner this process uses."""
    global _scanner
    _scanner = Scanner(fmt, lean_encoding(encoding_name), max_line_bytes, expected_labels)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    # A pool worker blocks on its task queue forever if its parent is killed (an RQ work horse
    # past its timeout): leave instead of lingering as an orphan.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def scan_range(path: str, start: int, end: int) -> RangeScan:
    """Process-pool task: scan one range with this process's Scanner."""
    assert _scanner is not None, "start_worker did not run"
    return _scanner.scan(path, start, end)
