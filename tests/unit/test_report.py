"""The report engine on public data, crafted lines, hostile files and its parallel path."""

import itertools
import random
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import tiktoken

from bench.gen_chat import generate
from service.datasets.pricing import load_prices
from service.datasets.report import build_report, histogram
from service.datasets.scan import iter_lines, line_ranges
from service.datasets.validate import ERROR_CODES, WARNING_CODES
from service.errors import InvalidFile, InvalidRequest
from tests.support.env import PUBLIC_DATA

TOY = PUBLIC_DATA / "openai_cookbook_toy_chat_fine_tuning.jsonl"
BERTCODE = PUBLIC_DATA / "bertcode_sentiment_training_set.jsonl"
PRICES = load_prices()
REPORT_KEYS = {"dataset_id", "format", "model", "encoding", "examples", "valid_examples",
               "blank_lines", "errors", "warnings", "tokens", "labels", "estimate"}
STATS_KEYS = {"min", "max", "mean", "median", "p5", "p95", "sum"}

USER = {"role": "user", "content": "hi"}
ASSISTANT = {"role": "assistant", "content": "hello"}
VALID = orjson.dumps({"messages": [{"role": "system", "content": "be kind"}, USER, ASSISTANT]})


def report(path: Path, fmt: str = "chat", model: str = "gpt-4o-mini", **options: Any
           ) -> dict[str, Any]:
    return build_report(path, fmt, model, prices=options.pop("prices", PRICES),
                        workers=options.pop("workers", 1), **options)


def write_lines(tmp_path: Path, *lines: bytes, name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def cookbook_counts(path: Path, encoding: tiktoken.Encoding) -> tuple[list[int], list[int]]:
    totals, assistant = [], []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        messages = orjson.loads(line)["messages"]
        total = 3
        for message in messages:
            total += 3
            for key, value in message.items():
                total += len(encoding.encode(value)) + (1 if key == "name" else 0)
        totals.append(total)
        assistant.append(sum(len(encoding.encode(m["content"])) for m in messages
                             if m["role"] == "assistant"))
    return totals, assistant


def test_cookbook_toy_dataset_finds_what_the_cookbook_finds() -> None:
    result = report(TOY, model="gpt-3.5-turbo")
    assert set(result) == REPORT_KEYS
    assert (result["format"], result["model"], result["encoding"]) == (
        "chat", "gpt-3.5-turbo", "cl100k_base")
    assert result["examples"] == result["valid_examples"] == 5
    assert sum(result["errors"]["counts"].values()) == 0
    assert set(ERROR_CODES) == set(result["errors"]["counts"])
    assert set(WARNING_CODES) == set(result["warnings"]["counts"])
    warnings = result["warnings"]["counts"]
    assert warnings["missing_user_message"] == 1
    assert warnings["missing_system_message"] == 1
    assert warnings["over_token_limit"] == 0
    lines = {(s["code"], s["line"]) for s in result["warnings"]["samples"]}
    assert {("missing_system_message", 3), ("missing_user_message", 4),
            ("too_few_examples", None)} <= lines
    assert result["tokens"]["total"]["max"] == 8032
    assert result["tokens"]["assistant"]["max"] == 8000


def test_toy_token_statistics_equal_the_recipe_exactly() -> None:
    totals, assistant = cookbook_counts(TOY, tiktoken.get_encoding("cl100k_base"))
    tokens = report(TOY, model="gpt-3.5-turbo")["tokens"]
    for name, values in (("total", totals), ("assistant", assistant)):
        assert tokens[name]["sum"] == sum(values)
        assert (tokens[name]["min"], tokens[name]["max"]) == (min(values), max(values))
        assert tokens[name]["median"] == np.median(values)
        assert tokens[name]["p95"] == round(float(np.percentile(values, 95)), 2)
    assert set(tokens["total"]) == STATS_KEYS
    assert tokens["messages_per_example"]["max"] == 9


def test_toy_estimate_uses_auto_epochs_and_the_model_price() -> None:
    totals, _ = cookbook_counts(TOY, tiktoken.get_encoding("cl100k_base"))
    estimate = report(TOY, model="gpt-3.5-turbo")["estimate"]
    assert estimate["n_epochs"] == 20  # 5 examples: 100 / 5
    assert estimate["tokens_per_epoch"] == sum(totals)
    assert estimate["trained_tokens"] == 20 * sum(totals)
    assert estimate["price_per_million_usd"] == 8.0
    assert estimate["cost_usd"] == pytest.approx(20 * sum(totals) * 8.0 / 1e6)


def test_bertcode_labels_show_the_stray_neutral_with_a_period() -> None:
    result = report(BERTCODE)
    labels = result["labels"]
    assert labels is not None
    assert labels["counts"]["Neutral."] == 1
    assert {"Positive", "Negative", "Neutral"} <= set(labels["counts"])
    assert labels["distinct"] == 4
    assert sum(labels["counts"].values()) == result["valid_examples"]
    assert result["warnings"]["counts"]["label_imbalance"] == 1


def test_expected_labels_flag_the_stray_one_at_its_line() -> None:
    lines = BERTCODE.read_bytes().split(b"\n")
    stray = next(number for number, line in enumerate(lines, 1) if b'"Neutral."' in line)
    result = report(BERTCODE, label_hint={"Positive", "Negative", "Neutral"})
    assert result["warnings"]["counts"]["unexpected_label"] == 1
    assert {"line": stray, "code": "unexpected_label"}.items() <= next(
        s for s in result["warnings"]["samples"] if s["code"] == "unexpected_label").items()


def chat_line(*messages: Any, **extra: Any) -> bytes:
    return orjson.dumps({"messages": list(messages), **extra})


PREF_OK = {"input": {"messages": [USER]}, "preferred_output": [ASSISTANT],
           "non_preferred_output": [{"role": "assistant", "content": "no"}]}
CRAFTED: dict[str, tuple[str, bytes]] = {
    "invalid_json": ("chat", b'{"messages": [{"role": "user"'),
    "data_type": ("chat", b"[1, 2, 3]"),
    "missing_messages_list": ("chat", b'{"messages": []}'),
    "message_missing_key": ("chat", chat_line({"content": "hi"}, ASSISTANT)),
    "message_unrecognized_key": ("chat", chat_line({**USER, "mood": "ok"}, ASSISTANT)),
    "unrecognized_role": ("chat", chat_line({"role": "bot", "content": "hi"}, ASSISTANT)),
    "missing_content": ("chat", chat_line({"role": "user", "content": ""}, ASSISTANT)),
    "example_missing_assistant_message": ("chat", chat_line(USER)),
    "invalid_content": ("chat", chat_line({"role": "user", "content": 7}, ASSISTANT)),
    "invalid_name": ("chat", chat_line({**USER, "name": 1}, ASSISTANT)),
    "invalid_weight": ("chat", chat_line(USER, {**ASSISTANT, "weight": 0.5})),
    "invalid_tool_call": ("chat", chat_line(USER, {"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": {}}}]})),
    "invalid_tools": ("chat", chat_line(USER, ASSISTANT, tools=[{"type": "function"}])),
    "missing_prompt": ("prompt_completion", b'{"completion": " yes"}'),
    "missing_completion": ("prompt_completion", b'{"prompt": "q ->"}'),
    "invalid_prompt": ("prompt_completion", b'{"prompt": 3, "completion": " yes"}'),
    "invalid_completion": ("prompt_completion", b'{"prompt": "q ->", "completion": null}'),
    "missing_input": ("preference", orjson.dumps({k: v for k, v in PREF_OK.items()
                                                  if k != "input"})),
    "missing_preferred_output": ("preference", orjson.dumps(
        {k: v for k, v in PREF_OK.items() if k != "preferred_output"})),
    "missing_non_preferred_output": ("preference", orjson.dumps(
        {k: v for k, v in PREF_OK.items() if k != "non_preferred_output"})),
    "invalid_preference_output": ("preference", orjson.dumps(
        {**PREF_OK, "preferred_output": [USER]})),
    "invalid_encoding": ("chat", b'{"messages": [{"role": "user", "content": "caf\xe9"}]}'),
    "line_too_long": ("chat", chat_line(USER, {"role": "assistant", "content": "x" * 500})),
}
GOOD = {"chat": VALID, "prompt_completion": b'{"prompt": "q ->", "completion": " yes"}',
        "preference": orjson.dumps(PREF_OK)}


def test_every_error_code_has_a_crafted_line() -> None:
    assert set(CRAFTED) == set(ERROR_CODES)


@pytest.mark.parametrize("code", sorted(CRAFTED))
def test_each_error_is_reported_at_its_physical_line(tmp_path: Path, code: str) -> None:
    fmt, bad = CRAFTED[code]
    good = GOOD[fmt]
    path = write_lines(tmp_path, good, b"", good, bad, b"   ", good)
    result = report(path, fmt, max_line_bytes=300)
    assert result["errors"]["counts"][code] == 1
    assert sum(result["errors"]["counts"].values()) == 1
    content = None if code == "line_too_long" else bad.decode("utf-8", "replace")
    assert result["errors"]["samples"] == [
        {"line": 4, "code": code, "message": result["errors"]["samples"][0]["message"],
         "content": content}]
    assert result["examples"] == 4
    assert result["valid_examples"] == 3
    assert result["blank_lines"] == 2


def test_blank_lines_anywhere_are_counted_and_never_fatal(tmp_path: Path) -> None:
    path = tmp_path / "blanks.jsonl"
    path.write_bytes(b"\n\r\n" + VALID + b"\r\n \t\n" + VALID + b"\n\n")
    result = report(path)
    assert (result["examples"], result["valid_examples"], result["blank_lines"]) == (2, 2, 4)
    assert sum(result["errors"]["counts"].values()) == 0
    assert result["warnings"]["counts"]["duplicate_example"] == 1
    duplicate = next(s for s in result["warnings"]["samples"] if s["code"] == "duplicate_example")
    assert duplicate["line"] == 5
    assert "line 3" in duplicate["message"]


def test_a_utf8_bom_before_the_first_line_is_accepted(tmp_path: Path) -> None:
    path = write_lines(tmp_path, b"\xef\xbb\xbf" + VALID, VALID.replace(b"hi", b"yo"))
    assert report(path)["valid_examples"] == 2


def test_invalid_utf8_is_an_error_of_that_line_only(tmp_path: Path) -> None:
    path = write_lines(tmp_path, VALID, b'{"messages": "\xff\xfe"}', VALID.replace(b"hi", b"ho"))
    result = report(path)
    assert result["errors"]["counts"]["invalid_encoding"] == 1
    assert result["errors"]["samples"][0]["line"] == 2
    assert result["valid_examples"] == 2


def test_overlong_lines_are_skipped_without_losing_count(tmp_path: Path) -> None:
    huge = b'{"messages": "' + b"y" * 3_000_000 + b'"}'
    path = write_lines(tmp_path, VALID, huge, VALID.replace(b"hi", b"ho"), huge)
    result = report(path, max_line_bytes=1000)
    assert result["errors"]["counts"]["line_too_long"] == 2
    assert [s["line"] for s in result["errors"]["samples"]] == [2, 4]
    assert (result["examples"], result["valid_examples"]) == (4, 2)


def test_samples_carry_their_line_content_cut_and_decoded_safely(tmp_path: Path) -> None:
    broken = b'{"messages": [{"role": "user"'
    long = chat_line(USER, {"role": "assistant", "content": "z" * 900})
    path = write_lines(tmp_path, b"\xef\xbb\xbf" + broken, b'{"messages": "\xff"}\r', VALID,
                       VALID, long, b'{"messages": "' + b"y" * 5000 + b'"}')
    result = report(path, max_line_bytes=4000)
    contents = {s["line"]: s["content"] for s in result["errors"]["samples"]}
    assert contents == {1: broken.decode(), 2: '{"messages": "\ufffd"}', 6: None}
    warnings = result["warnings"]["samples"]
    duplicate = next(s for s in warnings if s["code"] == "duplicate_example")
    assert (duplicate["line"], duplicate["content"]) == (4, VALID.decode())
    assert all(s["content"] is None for s in warnings if s["line"] is None)
    missing = next(s for s in warnings if s["line"] == 5)
    assert missing["content"] == long.decode()[:499] + "…"
    assert len(missing["content"]) == 500


def test_iter_lines_splits_like_bytes_split_at_any_block_size(tmp_path: Path) -> None:
    data = b"a\n\nbcd\nefghij\n\n" + b"k" * 13 + b"\nlast"
    path = tmp_path / "lines"
    path.write_bytes(data)
    for block in (1, 2, 3, 5, 8, 64):
        with open(path, "rb") as file:
            got = list(iter_lines(file, len(data), 10, block_bytes=block))
        assert got == [b"a", b"", b"bcd", b"efghij", b"", None, b"last"], block


def test_line_ranges_start_after_newlines_and_cover_the_file(tmp_path: Path) -> None:
    rng = random.Random(3)
    data = b"".join(b"x" * rng.randint(0, 300) + b"\n" for _ in range(500)) + b"tail"
    path = tmp_path / "ranges"
    path.write_bytes(data)
    ranges = line_ranges(path, 1000)
    assert ranges[0][0] == 0
    assert ranges[-1][1] == len(data)
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert end == start
        assert data[start - 1:start] == b"\n"
    assert line_ranges(tmp_path / "ranges", 10**9) == [(0, len(data))]


def test_empty_file_gives_an_empty_report(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    result = report(path)
    assert set(result) == REPORT_KEYS
    assert (result["examples"], result["valid_examples"], result["blank_lines"]) == (0, 0, 0)
    assert result["warnings"]["counts"]["too_few_examples"] == 1
    assert result["tokens"]["total"] == {"min": None, "max": None, "mean": None,
                                         "median": None, "p5": None, "p95": None, "sum": 0}
    assert result["tokens"]["histogram"] == []
    assert result["labels"] is None
    assert result["estimate"]["trained_tokens"] == 0


def test_binary_garbage_is_reported_not_crashed_on(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(random.Random(7).randbytes(300_000))
    result = report(path, max_line_bytes=4096, workers=2, chunk_bytes=64_000)
    assert result["examples"] > 0
    assert result["valid_examples"] == 0
    assert sum(result["errors"]["counts"].values()) == result["examples"]
    assert result["errors"]["counts"]["invalid_encoding"] > 0
    assert len(result["errors"]["samples"]) <= 20


def test_warnings_for_size_duplicates_and_limits(tmp_path: Path) -> None:
    table = tmp_path / "prices.json"
    table.write_bytes(orjson.dumps({"as_of": "2026-01-01", "currency": "USD", "models": {
        "tiny-model": {"training_per_million": 2.0, "context_limit": 40, "input_per_million": 1,
                       "output_per_million": 1, "fine_tuned_input_per_million": 1,
                       "fine_tuned_output_per_million": 1}}}))
    long = chat_line(USER, {"role": "assistant", "content": "word " * 60})
    path = write_lines(tmp_path, VALID, long, VALID)
    result = report(path, model="tiny-model", prices=load_prices(table))
    counts = result["warnings"]["counts"]
    assert counts["over_token_limit"] == 1
    assert counts["duplicate_example"] == 1
    assert counts["too_few_examples"] == 1
    assert counts["missing_system_message"] == 1
    over = next(s for s in result["warnings"]["samples"] if s["code"] == "over_token_limit")
    assert over["line"] == 2
    estimate = result["estimate"]
    assert estimate["tokens_per_epoch"] == 2 * result["tokens"]["total"]["min"] + 40
    assert estimate["price_per_million_usd"] == 2.0


def test_legacy_prompt_completion_advice(tmp_path: Path) -> None:
    lines = [orjson.dumps({"prompt": f"Question {i}", "completion": f"answer {i}"})
             for i in range(12)]
    result = report(write_lines(tmp_path, *lines), "prompt_completion")
    counts = result["warnings"]["counts"]
    assert counts["missing_common_suffix"] == 1
    assert counts["missing_common_ending"] == 1
    assert counts["completion_missing_leading_space"] == 12
    good = [orjson.dumps({"prompt": f"Q{i}\n\n###\n\n", "completion": f" A{i} END"})
            for i in range(12)]
    counts = report(write_lines(tmp_path, *good, name="good.jsonl"),
                    "prompt_completion")["warnings"]["counts"]
    assert counts["missing_common_suffix"] == counts["missing_common_ending"] == 0
    assert counts["completion_missing_leading_space"] == 0


def test_preference_report_counts_input_and_preferred_output(tmp_path: Path) -> None:
    path = write_lines(tmp_path, *(orjson.dumps(PREF_OK) for _ in range(2)))
    result = report(path, "preference", model="gpt-3.5-turbo")
    encoding = tiktoken.get_encoding("cl100k_base")
    expected = 3 + (3 + 1 + len(encoding.encode("hi"))) + (3 + 1 + len(encoding.encode("hello")))
    assert result["tokens"]["total"]["max"] == expected
    assert result["tokens"]["assistant"]["max"] == len(encoding.encode("hello"))
    assert result["tokens"]["messages_per_example"]["max"] == 2


def test_csv_and_unknown_models_are_refused_before_scanning(tmp_path: Path) -> None:
    path = write_lines(tmp_path, VALID)
    with pytest.raises(InvalidFile):
        report(path, "csv")
    with pytest.raises(InvalidRequest):
        report(path, model="no-such-model")


def buckets(*triples: tuple[int, int, int]) -> list[dict[str, int]]:
    return [{"ge": ge, "le": le, "count": n} for ge, le, n in triples]


def test_histogram_buckets_are_linear_with_a_nice_width_and_not_cumulative() -> None:
    # 1..65: width 1 gives 65 buckets, 2 gives 33, 5 gives 14 (0-4 ... 65-69).
    found = histogram(np.array([1, 3, 4, 5, 64, 65], dtype=np.uint32))
    assert found == buckets((0, 4, 3), (5, 9, 1), *((g, g + 4, 0) for g in range(10, 60, 5)),
                            (60, 64, 1), (65, 69, 1))


def test_histogram_widths_step_through_one_two_five_times_a_power_of_ten() -> None:
    # 7..19: 13 buckets of 1.
    assert histogram(np.array([7, 19, 19], dtype=np.uint32)) == buckets(
        (7, 7, 1), *((g, g, 0) for g in range(8, 19)), (19, 19, 2))
    # 0..30: 31 of 1 are too many; 16 of 2 (0-1 ... 30-31).
    found = histogram(np.array([0, 1, 2, 30], dtype=np.uint32))
    assert [b["le"] - b["ge"] + 1 for b in found] == [2] * 16
    assert (found[0], found[1], found[-1]) == tuple(buckets((0, 1, 2), (2, 3, 1), (30, 31, 1)))
    # 120..4321: 10 gives 421 buckets, 200 gives 22, 500 gives 9 (0-499 ... 4000-4499).
    found = histogram(np.array([120, 499, 500, 2600, 4321], dtype=np.uint32))
    assert found == buckets((0, 499, 2), (500, 999, 1), (1000, 1499, 0), (1500, 1999, 0),
                            (2000, 2499, 0), (2500, 2999, 1), (3000, 3499, 0), (3500, 3999, 0),
                            (4000, 4499, 1))
    # 1000..1019: 20 buckets of 1 is the limit, kept.
    assert len(histogram(np.arange(1000, 1020, dtype=np.uint32))) == 20


def test_histogram_of_equal_values_is_one_bucket_of_width_one() -> None:
    assert histogram(np.array([8032, 8032], dtype=np.uint32)) == buckets((8032, 8032, 2))
    assert histogram(np.array([], dtype=np.uint32)) == []


def test_parallel_workers_give_the_same_report_as_one(tmp_path: Path) -> None:
    path = tmp_path / "generated.jsonl"
    generate(path, 3_000_000, seed=5)
    with open(path, "ab") as file:
        file.write(b"\n[1]\n\xff\n" + VALID + b"\n")
    one = report(path, workers=1, chunk_bytes=200_000)
    two = report(path, workers=2, chunk_bytes=200_000)
    assert one == two
    whole = report(path, workers=1, chunk_bytes=1 << 30)
    assert whole == one
    assert one["examples"] > 1000
    assert one["errors"]["counts"]["data_type"] == 1
    assert one["errors"]["counts"]["invalid_encoding"] == 1
    assert one["warnings"]["counts"]["duplicate_example"] > 0
    assert sum(b["count"] for b in one["tokens"]["histogram"]) == one["valid_examples"]
