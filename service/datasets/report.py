"""The validation + token + cost report of a JSONL dataset (API.md, "Report").

The file is cut into ranges of whole lines (~4 MB); a pool of processes, each loading the
tokenizer once, scans them (scan.py) and answers compact arrays; this process merges them in
file order. Nothing holds the whole file: memory is the read blocks, one line at most
max_line_bytes, and ~24 bytes per valid example.

Decisions: token statistics, the estimate and duplicate detection cover valid examples (those
without errors); `labels` are the final assistant answers when they take at most 50 distinct
values and no more than max(2, valid / 2); dataset-level warnings have `"line": null`; the
samples carry their line's text, read in a second pass that stops at the last sampled line.
"""

import multiprocessing
import os
from array import array
from collections import Counter
from collections.abc import Collection, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.datasets import validate
from service.datasets.pricing import PriceTable, estimate
from service.datasets.scan import (
    MAX_LABELS,
    SAMPLES_PER_CODE,
    RangeScan,
    Sample,
    Scanner,
    attach_contents,
    line_ranges,
    scan_range,
    start_worker,
)
from service.datasets.tokens import encoding_name_for, load_encoding
from service.errors import InvalidFile, InvalidRequest

CHUNK_BYTES = 4 << 20
MAX_LINE_BYTES = 8 << 20
MAX_SAMPLES = 20
REPORT_FORMATS = ("chat", "prompt_completion", "preference")


def build_report(path: str | Path, fmt: str, model: str, *, prices: PriceTable,
                 workers: int = 0, max_line_bytes: int = MAX_LINE_BYTES,
                 label_hint: Collection[str] | None = None, n_epochs: int | None = None,
                 chunk_bytes: int = CHUNK_BYTES) -> dict[str, Any]:
    """The report of the dataset at path, in API.md's shape (`dataset_id` left to the caller).

    workers: processes (0 = the CPUs this process may use; 1 = no pool). label_hint: the labels
    the final answers should take (e.g. a conversion's value map); others are warned as
    `unexpected_label` and `labels` is always shown.
    """
    if fmt == "csv":
        raise InvalidFile("A CSV dataset has no training report; convert it to chat first.")
    if fmt not in REPORT_FORMATS:
        raise InvalidRequest(f"Unknown dataset format {fmt!r}.")
    limit = prices.for_model(model).context_limit
    encoding_name = encoding_name_for(model)
    load_encoding(encoding_name)  # TokenizerUnavailable before any work
    scans = _scan_ranges(str(path), fmt, encoding_name, max_line_bytes, label_hint, workers,
                         line_ranges(path, chunk_bytes))
    merged = _Merged.of(scans)
    valid = len(merged.total)
    total = np.frombuffer(merged.total, dtype=np.uint32)
    _dataset_warnings(merged, total, limit, model, fmt)
    labels = _labels(merged, valid, label_hint is not None)
    errors, warnings = pick_samples(merged.error_samples), pick_samples(merged.warning_samples)
    attach_contents(path, [*errors, *warnings], max_line_bytes)
    return {
        "dataset_id": None, "format": fmt, "model": model, "encoding": encoding_name,
        "examples": merged.examples, "valid_examples": valid, "blank_lines": merged.blank_lines,
        "errors": {"counts": _counts(validate.ERROR_CODES, merged.errors), "samples": errors},
        "warnings": {"counts": _counts(validate.WARNING_CODES, merged.warnings),
                     "samples": warnings},
        "tokens": {"total": describe(total),
                   "assistant": describe(np.frombuffer(merged.assistant, dtype=np.uint32)),
                   "messages_per_example": describe(np.frombuffer(merged.messages,
                                                                  dtype=np.uint32)),
                   "histogram": histogram(total)},
        "labels": labels,
        "estimate": estimate(total, n_epochs, model, prices),
    }


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _scan_ranges(path: str, fmt: str, encoding_name: str, max_line_bytes: int,
                 label_hint: Collection[str] | None, workers: int,
                 ranges: list[tuple[int, int]]) -> Iterator[RangeScan]:
    processes = min(workers or available_cpus(), len(ranges))
    expected = sorted(label_hint) if label_hint is not None else None
    if processes <= 1:
        scanner = Scanner(fmt, load_encoding(encoding_name), max_line_bytes, expected)
        for start, end in ranges:
            yield scanner.scan(path, start, end)
        return
    # spawn: fresh small workers that share nothing with a large or threaded parent.
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                               initializer=start_worker,
                               initargs=(fmt, encoding_name, max_line_bytes, expected))
    try:
        yield from pool.map(scan_range, [path] * len(ranges), *zip(*ranges, strict=True))
    finally:
        # On an error or a job timeout, drop the ranges not started rather than finish them.
        pool.shutdown(wait=True, cancel_futures=True)


class _Merged(RangeScan):
    """The ranges' scans joined in file order, with file line numbers (line: uint64)."""

    @classmethod
    def of(cls, scans: Iterator[RangeScan]) -> "_Merged":
        merged = cls(line=array("Q"))
        for scan in scans:
            merged.add(scan)
        return merged

    def add(self, scan: RangeScan) -> None:
        offset = self.lines
        self.lines += scan.lines
        self.blank_lines += scan.blank_lines
        self.examples += scan.examples
        for mine, theirs in ((self.total, scan.total), (self.assistant, scan.assistant),
                             (self.messages, scan.messages), (self.hashes, scan.hashes)):
            mine.extend(theirs)
        lines = np.frombuffer(scan.line, dtype=np.uint32).astype(np.uint64) + np.uint64(offset)
        self.line.frombytes(lines.tobytes())
        _add_samples(self.error_samples, scan.error_samples, offset)
        _add_samples(self.warning_samples, scan.warning_samples, offset)
        self.errors.update(scan.errors)
        self.warnings.update(scan.warnings)
        if self.labels is not None:
            if scan.labels is None:
                self.labels = None
            else:
                self.labels = dict(Counter(self.labels) + Counter(scan.labels))
                if len(self.labels) > MAX_LABELS:
                    self.labels = None
        for name in ("prompt_suffix", "completion_suffix"):
            theirs = getattr(scan, name)
            if theirs is not None:
                setattr(self, name, validate.common_suffix(getattr(self, name), theirs))


def _add_samples(samples: list[Sample], new: list[Sample], offset: int) -> None:
    kept = Counter(code for _, code, _ in samples)
    for line, code, message in new:
        if kept[code] < SAMPLES_PER_CODE:
            kept[code] += 1
            samples.append((line + offset, code, message))


def _dataset_warnings(merged: _Merged, total: npt.NDArray[np.uint32], limit: int, model: str,
                      fmt: str) -> None:
    lines = np.frombuffer(merged.line, dtype=np.uint64)
    hashes = np.frombuffer(merged.hashes, dtype=np.uint64)
    for index in np.flatnonzero(total > limit)[:SAMPLES_PER_CODE].tolist():
        merged.warning(int(lines[index]), "over_token_limit",
                       f"Example has {int(total[index])} tokens, over the {limit}-token limit of "
                       f"{model}; it will be truncated.")
    merged.warnings["over_token_limit"] = int(np.count_nonzero(total > limit))
    repeat, first = validate.find_duplicates(hashes)
    for index, original in zip(repeat[:SAMPLES_PER_CODE].tolist(),
                               first[:SAMPLES_PER_CODE].tolist(), strict=True):
        merged.warning(int(lines[index]), "duplicate_example",
                       f"Example repeats line {int(lines[original])}.")
    merged.warnings["duplicate_example"] = len(repeat)
    issues = [validate.too_few_examples(len(total))]
    if fmt == "prompt_completion" and len(total) >= 2:
        if not merged.prompt_suffix:
            issues.append(("missing_common_suffix", ("Prompts do not end with a common separator "
                                                    "(such as \\n\\n###\\n\\n).")))
        if not merged.completion_suffix:
            issues.append(("missing_common_ending", ("Completions do not end with a common stop "
                                                    "sequence (such as \" END\").")))
    for issue in issues:
        if issue is not None:
            merged.warning(0, *issue)


def _labels(merged: _Merged, valid: int, hinted: bool) -> dict[str, Any] | None:
    counts = merged.labels
    if not counts or not (hinted or len(counts) <= max(2, valid // 2)):
        return None
    issue = validate.label_imbalance(counts)
    if issue is not None:
        merged.warning(0, *issue)
    ordered = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return {"distinct": len(ordered), "counts": ordered}


def _counts(codes: tuple[str, ...], found: Counter[str]) -> dict[str, int]:
    return {code: found.get(code, 0) for code in codes} | dict(found)


def pick_samples(samples: list[Sample], cap: int = MAX_SAMPLES) -> list[dict[str, Any]]:
    """At most cap samples, taken round-robin across codes, in line order (line 0 = null)."""
    by_code: dict[str, list[Sample]] = {}
    for sample in sorted(samples, key=lambda s: s[0]):
        by_code.setdefault(sample[1], []).append(sample)
    picked: list[Sample] = []
    queues = list(by_code.values())
    while len(picked) < cap and any(queues):
        for queue in queues:
            if queue and len(picked) < cap:
                picked.append(queue.pop(0))
    return [{"line": line or None, "code": code, "message": message}
            for line, code, message in sorted(picked, key=lambda s: s[0])]


def describe(values: npt.NDArray[Any]) -> dict[str, int | float | None]:
    """min, max, mean, median, p5, p95 (linear interpolation) and sum; None when empty."""
    if values.size == 0:
        return {"min": None, "max": None, "mean": None, "median": None, "p5": None, "p95": None,
                "sum": 0}
    p5, median, p95 = np.percentile(values, [5, 50, 95])
    return {"min": int(values.min()), "max": int(values.max()),
            "mean": round(float(values.mean()), 2), "median": round(float(median), 2),
            "p5": round(float(p5), 2), "p95": round(float(p95), 2),
            "sum": int(values.sum(dtype=np.int64))}


NICE_STEPS = (1, 2, 5)
MAX_BUCKETS = 20


def histogram(values: npt.NDArray[Any]) -> list[dict[str, int]]:
    """Counts per linear bucket [ge, le] of a nice width (1, 2 or 5 x 10^k, the smallest that
    gives at most MAX_BUCKETS buckets), not cumulative, from the bucket of the minimum to the
    bucket of the maximum."""
    if values.size == 0:
        return []
    low, high = int(values.min()), int(values.max())
    width = bucket_width(low, high)
    first = low // width
    counts = np.bincount((values.astype(np.int64) // width - first).astype(np.int64),
                         minlength=high // width - first + 1)
    return [{"ge": (first + i) * width, "le": (first + i + 1) * width - 1, "count": int(n)}
            for i, n in enumerate(counts.tolist())]


def bucket_width(low: int, high: int) -> int:
    """The smallest nice width whose buckets from low to high number at most MAX_BUCKETS."""
    scale = 1
    while True:
        for step in NICE_STEPS:
            width = step * scale
            if high // width - low // width + 1 <= MAX_BUCKETS:
                return width
        scale *= 10
