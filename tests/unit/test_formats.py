"""The one format guess (upload and validation alike), from a file's first non-blank lines."""

from pathlib import Path

import orjson
import pytest

from service.datasets.formats import guess_format, read_head
from tests.support.env import PUBLIC_DATA

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
PAIR = {"prompt": "2+2 ->", "completion": " 4 END"}
PREFERENCE = {"input": {"messages": [{"role": "user", "content": "hi"}]},
              "preferred_output": [{"role": "assistant", "content": "hello"}],
              "non_preferred_output": [{"role": "assistant", "content": "go away"}]}


@pytest.mark.parametrize(("example", "expected"), [
    (CHAT, "chat"), (PAIR, "prompt_completion"), (PREFERENCE, "preference"),
])
def test_jsonl_format_is_guessed_from_the_keys_of_the_first_object(
        example: dict[str, object], expected: str) -> None:
    line = orjson.dumps(example) + b"\n"
    assert guess_format(b"\n  \n" + line * 3) == expected


@pytest.mark.parametrize("head", [
    b"prompt,completion\n\"a, b\",c\n",
    b"\xef\xbb\xbfQuestion,Answers,Final\nx,y,1\n",
    b"42\n43\n",
    b'"a string"\n',
], ids=["quoted-csv", "bom-csv", "numbers", "json-string"])
def test_csv_is_what_does_not_start_as_a_json_object_or_array(head: bytes) -> None:
    assert guess_format(head) == "csv"


def test_a_first_array_line_is_json_of_unknown_shape() -> None:
    assert guess_format(b"[1, 2]\n") == "chat"
    assert guess_format(b"[1, 2]\n" + orjson.dumps(PAIR) + b"\n") == "prompt_completion"


def test_bom_and_blank_lines_before_the_first_object_are_skipped() -> None:
    assert guess_format(b"\xef\xbb\xbf\r\n\n" + orjson.dumps(PAIR) + b"\n") == "prompt_completion"
    assert guess_format(b"\xef\xbb\xbf" + orjson.dumps(CHAT) + b"\n") == "chat"


def test_a_first_line_cut_by_the_read_bound_is_judged_by_its_keys() -> None:
    chat = orjson.dumps({"messages": [{"role": "user", "content": "x" * 5000}]})
    assert guess_format(chat[:300]) == "chat"
    reordered = b'{"preferred_output": [], "non_preferred_output": [], "input": {"messages": "'
    assert guess_format((reordered + b"x" * 5000)[:300]) == "preference"
    pair = b'{"completion": " yes", "prompt": "' + b"x" * 5000
    assert guess_format(pair[:300]) == "prompt_completion"
    assert guess_format(b'{"text": "' + b"x" * 300) == "chat"


def test_empty_and_unknown_jsonl_default_to_chat() -> None:
    assert guess_format(b"") == "chat"
    assert guess_format(b'{"text": "hello"}\n') == "chat"


def test_binary_garbage_is_not_json() -> None:
    assert guess_format(bytes(range(256)) * 50) == "csv"


def test_read_head_reads_at_most_its_bound(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"x" * 1000)
    assert read_head(path, max_bytes=300) == b"x" * 300
    assert len(read_head(path)) == 1000


def test_public_datasets_are_chat() -> None:
    for name in ("openai_cookbook_toy_chat_fine_tuning.jsonl",
                 "bertcode_sentiment_training_set.jsonl"):
        assert guess_format(read_head(PUBLIC_DATA / name)) == "chat"
