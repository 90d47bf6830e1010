import csv
import json
import random
from collections import Counter
from fractions import Fraction
from math import ceil, floor
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.datasets.convert import ConvertRequest, csv_to_chat
from service.datasets.split import (
    SplitPart,
    SplitRequest,
    allocate,
    assign_parts,
    split_file,
)
from service.errors import InvalidRequest, UnknownColumn
from tests.datagen import (
    LEVELS,
    SYSTEM,
    USER_TEMPLATE,
    chat_jsonl,
    prompt_completion_jsonl,
    reflections_csv,
)

THREE = {"train": 0.8, "validation": 0.1, "test": 0.1}


def split(**body: Any) -> SplitRequest:
    return SplitRequest.model_validate({"fractions": THREE, **body})


def exact(value: float) -> Fraction:
    return Fraction(repr(value))


def within_one(count: int, total: int, fraction: float) -> bool:
    """count is the floor or the ceiling of total × fraction (so less than one away)."""
    share = total * exact(fraction)
    return floor(share) <= count <= ceil(share)


def labels_of(path: Path) -> list[str]:
    return [json.loads(line)["messages"][-1]["content"] for line in path.read_text().splitlines()]


def check_stratified(parts: dict[str, SplitPart], fractions: dict[str, float],
                     all_labels: list[str]) -> None:
    counts = Counter(all_labels)
    for name, part in parts.items():
        in_part = Counter(labels_of(part.path))
        assert part.labels == dict(in_part)
        assert part.rows == sum(in_part.values())
        assert within_one(part.rows, len(all_labels), fractions[name])
        for label, n in counts.items():
            assert within_one(in_part[label], n, fractions[name]), (name, label)


@pytest.fixture
def reflections_chat(tmp_path: Path) -> Path:
    data = reflections_csv(tmp_path / "r.csv", rows=400, seed=3)
    request = ConvertRequest(system=SYSTEM, user=USER_TEMPLATE, assistant="{Final}",
                             value_maps={"Final": LEVELS})
    csv_to_chat(data.path, tmp_path / "chat.jsonl", request)
    return tmp_path / "chat.jsonl"


@pytest.mark.parametrize("fractions", [THREE, {"train": 0.2, "validation": 0.8},
                                       {"test": 0.25, "train": 0.75}])
def test_stratified_split_of_the_reflections_keeps_every_level_share(
        tmp_path: Path, reflections_chat: Path, fractions: dict[str, float]) -> None:
    request = split(strategy="stratified", fractions=fractions, seed=1, label="assistant")
    parts = split_file(reflections_chat, "chat", request, tmp_path / "out")
    assert list(parts) == [p for p in ("train", "validation", "test") if p in fractions]
    check_stratified(parts, fractions, labels_of(reflections_chat))
    source = Counter(reflections_chat.read_text().splitlines())
    assert sum((Counter(p.path.read_text().splitlines()) for p in parts.values()),
               Counter()) == source


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path,
                                                     reflections_chat: Path) -> None:
    def contents(seed: int, folder: str) -> list[bytes]:
        parts = split_file(reflections_chat, "chat", split(strategy="stratified", seed=seed),
                           tmp_path / folder)
        return [p.path.read_bytes() for p in parts.values()]

    assert contents(1, "a") == contents(1, "b")
    assert contents(2, "c") != contents(1, "a")


@pytest.mark.parametrize("fractions", [THREE, {"train": 0.2, "validation": 0.8}])
def test_random_split_sizes_and_content(tmp_path: Path, reflections_chat: Path,
                                        fractions: dict[str, float]) -> None:
    parts = split_file(reflections_chat, "chat", split(fractions=fractions, seed=7),
                       tmp_path / "out")
    lines = reflections_chat.read_text().splitlines()
    for name, part in parts.items():
        assert within_one(part.rows, len(lines), fractions[name])
        assert part.labels == dict(Counter(labels_of(part.path)))
    written = [line for p in parts.values() for line in p.path.read_text().splitlines()]
    assert sorted(written) == sorted(lines)


def test_rows_keep_their_source_order_within_a_part(tmp_path: Path,
                                                    reflections_chat: Path) -> None:
    lines = reflections_chat.read_text().splitlines()
    position = {line: i for i, line in enumerate(lines)}
    for part in split_file(reflections_chat, "chat", split(seed=3), tmp_path / "o").values():
        indexes = [position[line] for line in part.path.read_text().splitlines()]
        assert indexes == sorted(indexes)


def test_csv_split_keeps_header_and_records(tmp_path: Path) -> None:
    data = reflections_csv(tmp_path / "r.csv", rows=300, seed=5)
    parts = split_file(data.path, "csv", split(strategy="stratified", label="Final", seed=2),
                       tmp_path / "out")
    records: list[list[str]] = []
    for name, part in parts.items():
        assert part.path.name == f"{name}.csv"
        raw = part.path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbfQuestion,Answers,Final\r\n")
        with part.path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["Question", "Answers", "Final"]
        assert part.rows == len(rows) - 1
        assert part.labels == dict(Counter(r[2].strip() for r in rows[1:]))
        for label, n in data.finals.items():
            assert within_one(part.labels.get(label, 0), n, THREE[name])
        records += rows[1:]
    assert sorted(records) == sorted(list(r.values()) for r in data.records)


def test_csv_random_split_without_label_reports_no_labels(tmp_path: Path) -> None:
    data = reflections_csv(tmp_path / "r.csv", rows=50, messy=False)
    parts = split_file(data.path, "csv", split(), tmp_path / "out")
    assert [p.labels for p in parts.values()] == [None, None, None]
    assert sum(p.rows for p in parts.values()) == 50


def test_prompt_completion_stratifies_by_completion(tmp_path: Path) -> None:
    data = prompt_completion_jsonl(tmp_path / "pc.jsonl", rows=120)
    parts = split_file(data.path, "prompt_completion", split(strategy="stratified"),
                       tmp_path / "out")
    for name, part in parts.items():
        assert part.labels is not None
        assert sum(part.labels.values()) == part.rows
        for label, n in data.labels.items():
            assert within_one(part.labels[label], n, THREE[name])


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    src = chat_jsonl(tmp_path / "c.jsonl", ["a", "b"] * 10)
    lines = src.read_text().splitlines()
    src.write_text("\n\n" + "\r\n\n".join(lines) + "\n  \n")
    parts = split_file(src, "chat", split(fractions={"train": 0.5, "test": 0.5}), tmp_path / "o")
    assert [p.rows for p in parts.values()] == [10, 10]
    assert all(line.strip() for p in parts.values() for line in p.path.read_text().split("\n")[:-1])


def test_preference_data_splits_randomly_only(tmp_path: Path) -> None:
    src = tmp_path / "pref.jsonl"
    src.write_text("".join(json.dumps({"input": {"messages": []}, "preferred_output": [],
                                       "non_preferred_output": [], "i": i}) + "\n"
                           for i in range(20)))
    parts = split_file(src, "preference", split(fractions={"train": 0.5, "test": 0.5}),
                       tmp_path / "o")
    assert [(p.rows, p.labels) for p in parts.values()] == [(10, None), (10, None)]
    with pytest.raises(InvalidRequest, match="random"):
        split_file(src, "preference", split(strategy="stratified"), tmp_path / "o")


def test_rows_without_an_assistant_message_form_their_own_stratum(tmp_path: Path) -> None:
    src = chat_jsonl(tmp_path / "c.jsonl", ["x"] * 10)
    with src.open("a") as f:
        for _ in range(10):
            f.write(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    parts = split_file(src, "chat", split(strategy="stratified",
                                          fractions={"train": 0.5, "test": 0.5}), tmp_path / "o")
    for part in parts.values():
        assert part.labels == {"x": 5}
        assert part.rows == 10


def test_too_few_rows_for_the_fractions_is_refused(tmp_path: Path) -> None:
    src = chat_jsonl(tmp_path / "c.jsonl", ["a"] * 5)
    with pytest.raises(InvalidRequest) as caught:
        split_file(src, "chat", split(), tmp_path / "o")
    assert "Too few rows (5)" in caught.value.detail
    assert "test (0.1) would get no row" in caught.value.detail  # 4/1/0: 4/0.5/0.5 rounded
    assert caught.value.errors[0]["field"] == "body.fractions"
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_an_avoidable_empty_part_is_avoided() -> None:
    # 10 rows at 0.85/0.1/0.05: 8.5/1/0.5 rounds to 8/1/1, not 9/1/0.
    assert allocate([10], [0.85, 0.1, 0.05]) == [[8, 1, 1]]


def test_label_errors(tmp_path: Path) -> None:
    data = reflections_csv(tmp_path / "r.csv", rows=30)
    with pytest.raises(UnknownColumn) as caught:
        split_file(data.path, "csv", split(strategy="stratified", label="Level"), tmp_path / "o")
    assert caught.value.errors[0]["field"] == "body.label"
    assert "Question, Answers, Final" in caught.value.detail
    with pytest.raises(InvalidRequest, match="needs label"):
        split_file(data.path, "csv", split(strategy="stratified"), tmp_path / "o")
    src = chat_jsonl(tmp_path / "c.jsonl", ["a"] * 30)
    with pytest.raises(InvalidRequest, match="'assistant'"):
        split_file(src, "chat", split(strategy="stratified", label="Final"), tmp_path / "o")


@pytest.mark.parametrize(("fractions", "words"), [
    ({"train": 0.8, "validation": 0.1}, "add up to 0.9"),
    ({"train": 0.8, "validation": 0.3, "test": -0.1}, "greater than 0"),
    ({"train": 1.0, "test": 0.0}, "greater than 0"),
    ({"train": 0.5, "dev": 0.5}, "train"),
    ({}, "at least 1 item"),
])
def test_split_request_fractions_validation(fractions: dict[str, float], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        SplitRequest.model_validate({"fractions": fractions})


def test_split_request_accepts_sums_within_a_millionth_and_orders_parts() -> None:
    request = SplitRequest.model_validate(
        {"fractions": {"test": 0.3333333, "train": 0.3333333, "validation": 0.3333334}})
    assert list(request.fractions) == ["train", "validation", "test"]
    assert (request.strategy, request.seed, request.label) == ("random", 0, None)
    with pytest.raises(ValidationError, match="Extra inputs"):
        SplitRequest.model_validate({"fractions": THREE, "shuffle": True})


def test_stratified_guarantee_holds_for_many_label_distributions_and_seeds() -> None:
    rng = random.Random(2024)
    checked = 0
    for _ in range(400):
        n_labels = rng.randint(1, 12)
        weights = [rng.random() ** 3 for _ in range(n_labels)]
        n = rng.randint(1, 300)
        codes = rng.choices(range(n_labels), weights, k=n)
        fractions = rng.choice([[0.8, 0.1, 0.1], [0.2, 0.8], [0.7, 0.15, 0.15], [1 / 3] * 3,
                                [0.5, 0.25, 0.25], [0.9, 0.1], [1.0], [0.6, 0.3, 0.1]])
        seed = rng.randint(-10**6, 10**12)
        try:
            parts = assign_parts(codes, n_labels, fractions, stratified=True, seed=seed)
        except InvalidRequest:
            assert n * min(fractions) < 1 + 1e-9  # refused only when a part cannot get a row
            continue
        checked += 1
        assert parts == assign_parts(codes, n_labels, fractions, stratified=True, seed=seed)
        per_part = Counter(parts)
        label_total = Counter(codes)
        in_part = Counter(zip(parts, codes, strict=True))
        for p, fraction in enumerate(fractions):
            assert per_part[p] > 0
            assert within_one(per_part[p], n, fraction)
            for label, total in label_total.items():
                assert within_one(in_part[p, label], total, fraction), (codes, fractions, seed)
    assert checked > 300


def test_random_assignment_sizes_for_many_sizes_and_seeds() -> None:
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(20, 500)
        fractions = rng.choice([[0.8, 0.1, 0.1], [0.2, 0.8], [0.34, 0.33, 0.33]])
        seed = rng.randint(0, 10**9)
        parts = assign_parts([0] * n, 1, fractions, stratified=False, seed=seed)
        sizes = Counter(parts)
        assert all(within_one(sizes[p], n, f) for p, f in enumerate(fractions))
        assert sum(sizes.values()) == n


def test_different_seeds_give_different_assignments() -> None:
    codes = [i % 4 for i in range(200)]
    seen = {bytes(assign_parts(codes, 4, [0.8, 0.1, 0.1], stratified=True, seed=s))
            for s in range(20)}
    assert len(seen) == 20


def test_many_distinct_labels_are_allocated_quickly() -> None:
    counts = [1 + i % 3 for i in range(50_000)]  # 99,999 rows
    quotas = allocate(counts, [0.8, 0.1, 0.1])
    assert [sum(q[p] for q in quotas) for p in range(3)] == [79_999, 10_000, 10_000]
    assert all(sum(q) == c for q, c in zip(quotas, counts, strict=True))
    assert all(within_one(q[p], c, f) for q, c in zip(quotas, counts, strict=True)
               for p, f in enumerate([0.8, 0.1, 0.1]))


def test_completion_labels_lose_the_shared_stop_and_merge_when_equal(tmp_path: Path) -> None:
    src = tmp_path / "pc.jsonl"
    completions = [" yes END", " yes  END", " no END", " no END"] * 5
    src.write_text("".join(json.dumps({"prompt": f"p{i} ->", "completion": c}) + "\n"
                           for i, c in enumerate(completions)))
    parts = split_file(src, "prompt_completion",
                       split(strategy="stratified", fractions={"train": 0.5, "test": 0.5}),
                       tmp_path / "o")
    assert [p.labels for p in parts.values()] == [{"yes": 5, "no": 5}, {"yes": 5, "no": 5}]
