"""Random and stratified splits of a dataset file into train/validation/test files.

Two passes over the source: the first reads one label code per row, the second copies each row
into its part, in source order. The assignment depends only on the rows' labels, the fractions
and the seed (random.Random; never hash()).

Guarantees: every part's size is the floor or the ceiling of rows × fraction; in a stratified
split, every label's count in every part is the floor or the ceiling of its exact share
(label rows × fraction). Both hold at once: the roundings are chosen by a small max-flow
(a 2-D controlled rounding, which always exists). Parts that would get no row are refused.
"""

import csv
import random
from array import array
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from fractions import Fraction
from itertools import accumulate, combinations
from math import lcm
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.datasets.convert import common_ending, read_lines, write_atomically
from service.datasets.csvfile import CsvTable, open_csv
from service.errors import InvalidRequest, UnknownColumn

PARTS = ("train", "validation", "test")
Part = Literal["train", "validation", "test"]
FORMATS = ("chat", "prompt_completion", "preference", "csv")


class SplitRequest(BaseModel):
    """The body of POST /v1/datasets/{id}/split."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"strategy": "random", "fractions": {"train": 0.8, "validation": 0.2}, "seed": 7}]})
    strategy: Literal["random", "stratified"] = "random"
    fractions: dict[Part, Annotated[float, Field(gt=0, le=1)]] = Field(
        min_length=1, description="Any of train, validation, test, adding up to 1.",
        examples=[{"train": 0.8, "validation": 0.1, "test": 0.1}])
    seed: int = 0
    label: str | None = Field(default=None, min_length=1)

    @field_validator("fractions")
    @classmethod
    def _check_fractions(cls, fractions: dict[Part, float]) -> dict[Part, float]:
        if not fractions:
            raise ValueError("name at least one of train, validation, test")
        for part, value in fractions.items():
            if not 0 < value <= 1:
                raise ValueError(f"{part} is {value}; each fraction must be in (0, 1]")
        if abs(sum(fractions.values()) - 1) > 1e-6:
            raise ValueError(f"the fractions add up to {sum(fractions.values()):g}, not 1")
        return {part: fractions[part] for part in PARTS if part in fractions}


class SplitPart(BaseModel):
    path: Path
    rows: int
    labels: dict[str, int] | None = None


def split_file(src: Path, fmt: str, request: SplitRequest, dst_dir: Path
               ) -> dict[str, SplitPart]:
    """Write one file per requested part into dst_dir (train.jsonl, test.csv, …)."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"A {fmt} dataset cannot be split.",
                             errors=[{"field": "format", "message": "unknown format"}])
    parts = list(request.fractions)
    label = _label_source(src, fmt, request)
    codes, names = read_labels(src, fmt, label)
    assignment = assign_parts(codes, len(names), [request.fractions[p] for p in parts],
                              stratified=request.strategy == "stratified", seed=request.seed,
                              parts=parts)
    dst_dir.mkdir(parents=True, exist_ok=True)
    paths = [dst_dir / f"{part}.{'csv' if fmt == 'csv' else 'jsonl'}" for part in parts]
    if fmt == "csv":
        _write_csv_parts(src, assignment, paths)
    else:
        _write_jsonl_parts(src, assignment, paths)
    counts = _count(assignment, codes, len(parts), len(names))
    return {part: SplitPart(path=path, rows=sum(count), labels=_named(count, names, label))
            for part, path, count in zip(parts, paths, counts, strict=True)}


def read_labels(src: Path, fmt: str, label: str | None) -> tuple["array[int]", list[str | None]]:
    """One label code per row and the label of each code; None labels a row without one.

    Completions (prompt_completion) lose the stop sequence they all share.
    """
    codes: array[int] = array("I")
    index: dict[str | None, int] = {}
    for value in _labels(src, fmt, label):
        codes.append(index.setdefault(value, len(index)))
    names = list(index) or [None]
    if fmt != "prompt_completion":
        return codes, names
    stop = common_ending((name for name in names if name is not None), words=True)
    clean = [name[:len(name) - len(stop)].strip() if name is not None else None
             for name in names]
    unique = list(dict.fromkeys(clean))
    if len(unique) < len(clean):  # two completions differing only in spaces before the stop
        position = {name: i for i, name in enumerate(unique)}
        remap = [position[name] for name in clean]
        codes = array("I", (remap[code] for code in codes))
    return codes, unique


def assign_parts(codes: Sequence[int], n_labels: int, fractions: Sequence[float], *,
                 stratified: bool, seed: int, parts: Sequence[str] | None = None) -> bytearray:
    """The part index of every row, deterministic for a seed."""
    n = len(codes)
    rows_of = [0] * n_labels
    for code in codes:
        rows_of[code] += 1
    counts = rows_of if stratified else [n]
    # A string seed is hashed with SHA-512: stable everywhere, and -1 differs from 1.
    rng = random.Random(f"ftm-split:{seed}")
    order = list(range(len(counts)))
    rng.shuffle(order)  # which labels get the rounded-up rows varies with the seed
    quotas = allocate(counts, fractions, order, parts)
    bounds = [list(accumulate(q)) for q in quotas]
    taken = [0] * len(counts)
    rows = list(range(n))
    rng.shuffle(rows)
    assignment = bytearray(n)
    for row in rows:
        stratum = codes[row] if stratified else 0
        k = taken[stratum]
        taken[stratum] = k + 1
        part, limits = 0, bounds[stratum]
        while k >= limits[part]:
            part += 1
        assignment[row] = part
    return assignment


def allocate(counts: Sequence[int], fractions: Sequence[float],
             order: Sequence[int] | None = None, parts: Sequence[str] | None = None
             ) -> list[list[int]]:
    """Rows of each stratum per part: each the floor or ceiling of count × fraction, and each
    part's total the floor or ceiling of rows × fraction; no part empty when avoidable.

    order lists the strata in the order they are offered the rounded-up rows.
    """
    weights, scale = _weights(fractions)
    n_parts = len(weights)
    quotas = [[count * w // scale for w in weights] for count in counts]
    rests = [[count * w % scale for w in weights] for count in counts]
    rest_totals = [sum(rest[p] for rest in rests) for p in range(n_parts)]
    base_totals = [sum(q[p] for q in quotas) for p in range(n_parts)]
    # Strata alike in (rows still to place, parts they may round up in) are routed together.
    kinds: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    for s in order if order is not None else range(len(counts)):
        need = counts[s] - sum(quotas[s])
        if need:
            open_parts = tuple(p for p in range(n_parts) if rests[s][p])
            kinds.setdefault((need, open_parts), []).append(s)
    for ups in _targets(rest_totals, scale, base_totals):
        flows = _route(kinds, ups)
        if flows is not None:
            break
    else:  # unreachable: a 2-D table always has a controlled rounding
        raise AssertionError("no controlled rounding found")
    for strata, flow in zip(kinds.values(), flows, strict=True):
        # Deal the rounded-up parts round-robin: a stratum never gets the same part twice.
        dealt = [p for p in range(n_parts) for _ in range(flow[p])]
        for i, part in enumerate(dealt):
            quotas[strata[i % len(strata)]][part] += 1
    totals = [sum(q[p] for q in quotas) for p in range(n_parts)]
    if 0 in totals:
        names = parts or [f"fraction {f:g}" for f in fractions]
        empty = ", ".join(f"{name} ({f:g})" if parts else name
                          for name, f, t in zip(names, fractions, totals, strict=True) if t == 0)
        raise InvalidRequest(
            f"Too few rows ({sum(counts)}) for these fractions: {empty} would get no row. "
            "Use more rows or larger fractions.",
            errors=[{"field": "body.fractions", "message": "a part would be empty"}])
    return quotas


def _weights(fractions: Sequence[float]) -> tuple[list[int], int]:
    """Integer weights adding up to scale, in the exact ratio of the decimal fractions."""
    exact = [Fraction(repr(f)) for f in fractions]
    total = sum(exact)
    shares = [f / total for f in exact]
    scale = lcm(*(share.denominator for share in shares))
    return [int(share * scale) for share in shares], scale


def _targets(rest_totals: list[int], scale: int, base_totals: list[int]
             ) -> list[list[int]]:
    """Ways to share the rounded-up rows among parts, best first: no empty part, then
    closest to exact (largest remainders), then earlier parts first."""
    lows = [r // scale for r in rest_totals]
    ups = sum(rest_totals) // scale - sum(lows)
    open_parts = [p for p, r in enumerate(rest_totals) if r % scale]
    targets = []
    for chosen in combinations(open_parts, ups):
        target = [low + (p in chosen) for p, low in enumerate(lows)]
        empty = sum(b + t == 0 for b, t in zip(base_totals, target, strict=True))
        error = sum((t * scale - r) ** 2 for t, r in zip(target, rest_totals, strict=True))
        targets.append((empty, error, [-t for t in target], target))
    return [target for *_, target in sorted(targets)]


def _route(kinds: dict[tuple[int, tuple[int, ...]], list[int]], ups: list[int]
           ) -> list[list[int]] | None:
    """Rounded-up rows per kind and part meeting ups exactly, by max-flow; None if none do."""
    n_kinds, n_parts = len(kinds), len(ups)
    source, sink = 0, n_kinds + n_parts + 1
    cap = [[0] * (sink + 1) for _ in range(sink + 1)]
    for k, ((need, parts), strata) in enumerate(kinds.items(), 1):
        cap[source][k] = need * len(strata)
        for p in parts:
            cap[k][n_kinds + 1 + p] = len(strata)
    for p, up in enumerate(ups):
        cap[n_kinds + 1 + p][sink] = up
    flow = _max_flow(cap, source, sink)
    if sum(flow[source]) != sum(ups):
        return None
    return [[flow[k][n_kinds + 1 + p] for p in range(n_parts)] for k in range(1, n_kinds + 1)]


def _max_flow(cap: list[list[int]], source: int, sink: int) -> list[list[int]]:
    """Edmonds–Karp on a dense graph of a few dozen nodes."""
    n = len(cap)
    flow = [[0] * n for _ in range(n)]
    while True:
        parent = [-1] * n
        parent[source] = source
        queue = [source]
        for u in queue:
            for v in range(n):
                if parent[v] < 0 and cap[u][v] > flow[u][v]:
                    parent[v] = u
                    queue.append(v)
        if parent[sink] < 0:
            return flow
        push, v = cap[parent[sink]][sink] - flow[parent[sink]][sink], sink
        while v != source:
            u = parent[v]
            push = min(push, cap[u][v] - flow[u][v])
            v = u
        v = sink
        while v != source:
            u = parent[v]
            flow[u][v] += push
            flow[v][u] -= push
            v = u


def _label_source(src: Path, fmt: str, request: SplitRequest) -> str | None:
    label = request.label
    stratified = request.strategy == "stratified"
    if fmt == "csv":
        if label is None and stratified:
            with open_csv(src) as table:
                columns = ", ".join(table.header)
            raise InvalidRequest(
                f"A stratified split of a CSV needs label: the column to stratify by ({columns}).",
                errors=[{"field": "body.label", "message": "required for a stratified CSV split"}])
        if label is not None:
            with open_csv(src) as table:
                if table.index(label) is None:
                    message = f"{label!r} is not a column; columns: {', '.join(table.header)}"
                    raise UnknownColumn(f"The label {message}.",
                                        errors=[{"field": "body.label", "message": message}])
        return label
    if fmt == "preference":
        if stratified:
            raise InvalidRequest(
                "A preference dataset has no label to stratify by; use strategy 'random'.",
                errors=[{"field": "body.strategy", "message": "no label in preference data"}])
        return None
    accepted = ("assistant",) if fmt == "chat" else ("assistant", "completion")
    if label is not None and label not in accepted:
        raise InvalidRequest(
            f"The label of a {fmt} dataset is {' or '.join(map(repr, accepted))}.",
            errors=[{"field": "body.label", "message": f"not a label of {fmt} data"}])
    return "assistant"


def _labels(src: Path, fmt: str, label: str | None) -> Iterator[str | None]:
    if fmt == "csv":
        with open_csv(src) as table:
            at = table.index(label) if label is not None else None
            for _, fields in table.records():
                yield fields[at].strip() if at is not None else None
        return
    for _, line in read_lines(src):
        yield _jsonl_label(line, fmt) if label is not None else None


def _jsonl_label(line: bytes, fmt: str) -> str | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    if fmt == "prompt_completion":
        completion = obj.get("completion")
        return completion.strip() if isinstance(completion, str) else None
    messages = obj.get("messages")
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "assistant":
            return _text(message.get("content"))
    return None


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        return "".join(t for t in texts if isinstance(t, str)).strip()
    return None


def _write_jsonl_parts(src: Path, assignment: bytearray, paths: list[Path]) -> None:
    with ExitStack() as stack:
        outs = [stack.enter_context(write_atomically(path)) for path in paths]
        for row, (_, line) in enumerate(read_lines(src)):
            outs[assignment[row]].write(line + b"\n")


def _write_csv_parts(src: Path, assignment: bytearray, paths: list[Path]) -> None:
    with ExitStack() as stack:
        table: CsvTable = stack.enter_context(open_csv(src))
        dialect = table.dialect
        writers = []
        for path in paths:
            out = stack.enter_context(write_atomically(path, text=True))
            if dialect.bom:
                out.write("\ufeff")
            writer = csv.writer(out, delimiter=dialect.delimiter, quotechar=dialect.quotechar,
                                lineterminator=dialect.line_terminator)
            writer.writerow(table.raw_header)
            writers.append(writer)
        for row, fields in table.records():
            writers[assignment[row - 1]].writerow(fields)


def _count(assignment: bytearray, codes: Sequence[int], n_parts: int, n_labels: int
           ) -> list[list[int]]:
    counts = [[0] * n_labels for _ in range(n_parts)]
    for part, code in zip(assignment, codes, strict=True):
        counts[part][code] += 1
    return counts


def _named(counts: list[int], names: list[str | None], label: str | None
           ) -> dict[str, int] | None:
    if label is None:
        return None
    return {name: n for name, n in zip(names, counts, strict=True) if name is not None and n}
