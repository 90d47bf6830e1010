"""Format sniffing from the first non-blank lines."""

from pathlib import Path

import orjson
import pytest

from service.datasets.formats import sniff_format
from tests.support.env import PUBLIC_DATA

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
PAIR = {"prompt": "2+2 ->", "completion": " 4 END"}
PREFERENCE = {"input": {"messages": [{"role": "user", "content": "hi"}]},
              "preferred_output": [{"role": "assistant", "content": "hello"}],
              "non_preferred_output": [{"role": "assistant", "content": "go away"}]}


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "data"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("example", "expected"), [
    (CHAT, "chat"), (PAIR, "prompt_completion"), (PREFERENCE, "preference"),
])
def test_jsonl_format_is_sniffed_from_the_keys_of_the_first_object(
        tmp_path: Path, example: dict[str, object], expected: str) -> None:
    line = orjson.dumps(example) + b"\n"
    assert sniff_format(write(tmp_path, b"\n  \n" + line * 3)) == expected


def test_csv_is_what_is_not_json(tmp_path: Path) -> None:
    assert sniff_format(write(tmp_path, b"prompt,completion\n\"a, b\",c\n")) == "csv"
    assert sniff_format(write(tmp_path, b"\xef\xbb\xbfQuestion,Answers,Final\nx,y,1\n")) == "csv"
    assert sniff_format(write(tmp_path, b"42\n43\n")) == "csv"


def test_bom_and_blank_lines_before_the_first_object_are_skipped(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf\r\n\n" + orjson.dumps(PAIR) + b"\n"
    assert sniff_format(write(tmp_path, data)) == "prompt_completion"


def test_a_first_line_longer_than_the_read_bound_is_judged_by_its_keys(tmp_path: Path) -> None:
    chat = {"messages": [{"role": "user", "content": "x" * 5000}]}
    assert sniff_format(write(tmp_path, orjson.dumps(chat) + b"\n"), max_bytes=300) == "chat"
    reordered = b'{"preferred_output": [], "non_preferred_output": [], "input": {"messages": "'
    assert sniff_format(write(tmp_path, reordered + b"x" * 5000 + b'"}}\n'),
                        max_bytes=300) == "preference"
    pair = b'{"completion": " yes", "prompt": "' + b"x" * 5000 + b'"}\n'
    assert sniff_format(write(tmp_path, pair), max_bytes=300) == "prompt_completion"


def test_empty_and_unknown_jsonl_default_to_chat(tmp_path: Path) -> None:
    assert sniff_format(write(tmp_path, b"")) == "chat"
    assert sniff_format(write(tmp_path, b'{"text": "hello"}\n')) == "chat"


def test_binary_garbage_is_not_json(tmp_path: Path) -> None:
    assert sniff_format(write(tmp_path, bytes(range(256)) * 50)) == "csv"


def test_public_datasets_are_chat() -> None:
    for name in ("openai_cookbook_toy_chat_fine_tuning.jsonl",
                 "bertcode_sentiment_training_set.jsonl"):
        assert sniff_format(PUBLIC_DATA / name) == "chat"
