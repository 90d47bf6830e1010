import codecs
import csv
import re
import time
from pathlib import Path

import pytest

from service.datasets.csvfile import (
    EncodingCheck,
    check_encoding,
    inspect_csv,
    open_csv,
)
from service.errors import InvalidFile, UnsupportedEncoding
from tests.datagen import reflections_csv

CHUNK_SIZES = [1, 2, 3, 5, 7, 64, 1 << 20]


def feed(data: bytes, size: int) -> None:
    check = EncodingCheck("upload.csv")
    for i in range(0, len(data), size):
        check.feed(data[i:i + size])
    check.finish()


def location(exc: UnsupportedEncoding) -> tuple[int, int]:
    match = re.search(r"line (\d+), byte (\d+)", exc.detail)
    assert match, exc.detail
    return int(match[1]), int(match[2])


def lines_with(bad: bytes, at_line: int, total: int = 30) -> tuple[bytes, int]:
    """UTF-8 lines (some non-ASCII) with `bad` inside line at_line; answer the bad offset."""
    lines = [f"{i},réponse {i} 漢字 🙂,\"a, b\"".encode() for i in range(1, total + 1)]
    lines[at_line - 1] = b"17,caf" + bad + b" au lait,x"
    data = b"\r\n".join(lines) + b"\r\n"
    return data, data.index(b"caf" + bad) + 3


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_utf8_with_bom_multibyte_split_across_chunks_passes(size: int) -> None:
    text = "Question,Answers\r\n\"naïve, café\",\"漢字 🙂\nsecond line\"\r\n" * 20
    feed(codecs.BOM_UTF8 + text.encode(), size)


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_latin1_byte_is_reported_with_its_line_and_offset(size: int) -> None:
    data, offset = lines_with("é".encode("latin-1"), at_line=17)
    with pytest.raises(UnsupportedEncoding) as caught:
        feed(data, size)
    assert location(caught.value) == (17, offset)
    assert "'upload.csv' is not UTF-8" in caught.value.detail
    assert "0xE9" in caught.value.detail
    assert caught.value.code == "unsupported_encoding"
    assert caught.value.errors[0]["field"] == "file"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_broken_sequence_started_in_an_earlier_chunk_points_at_its_first_byte(size: int) -> None:
    data, offset = lines_with(b"\xe6\x97A", at_line=3)  # 3-byte lead, one continuation, 'A'
    with pytest.raises(UnsupportedEncoding) as caught:
        feed(data, size)
    assert location(caught.value) == (3, offset)


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_file_ending_inside_a_multibyte_character_is_refused(size: int) -> None:
    data = "a,b\n1,2\n3,漢".encode()[:-1]
    with pytest.raises(UnsupportedEncoding) as caught:
        feed(data, size)
    assert location(caught.value) == (3, len(data) - 2)


@pytest.mark.parametrize("size", [1, 2, 3, 1 << 20])
@pytest.mark.parametrize(("encoding", "named"), [
    ("utf-16", "UTF-16 (little-endian)"), ("utf-16-be", "UTF-16 (big-endian)"),
    ("utf-32", "UTF-32 (little-endian)"), ("utf-32-be", "UTF-32 (big-endian)")])
def test_utf16_and_utf32_boms_are_refused_by_name(size: int, encoding: str, named: str) -> None:
    data = "a,b\n1,2\n".encode(encoding)
    if not encoding.endswith("-be"):
        assert data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF32_LE))
    else:
        data = (codecs.BOM_UTF16_BE if "16" in encoding else codecs.BOM_UTF32_BE) + data
    with pytest.raises(UnsupportedEncoding) as caught:
        feed(data, size)
    assert f"is {named} text, not UTF-8" in caught.value.detail


def test_a_lone_utf16_bom_shorter_than_four_bytes_is_refused() -> None:
    with pytest.raises(UnsupportedEncoding, match="UTF-16"):
        feed(codecs.BOM_UTF16_LE, 1)


@pytest.mark.parametrize("size", [1, 4, 1 << 20])
def test_nul_byte_is_refused_as_binary(size: int) -> None:
    with pytest.raises(UnsupportedEncoding) as caught:
        feed(b"a,b\n1,2\nx\x00y\n", size)
    assert location(caught.value) == (3, 9)
    assert "NUL" in caught.value.detail


def test_an_invalid_byte_before_a_nul_in_the_same_chunk_is_reported_first() -> None:
    with pytest.raises(UnsupportedEncoding) as caught:
        feed(b"a\xff\n\x00", 1 << 20)
    assert "not UTF-8" in caught.value.detail
    assert location(caught.value) == (1, 1)


def test_empty_input_passes() -> None:
    feed(b"", 1)


def test_check_encoding_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\n" * 100 + b"\x80\n")
    with pytest.raises(UnsupportedEncoding) as caught:
        check_encoding(path)
    assert location(caught.value) == (101, 200)


def parse_with_csv_module(path: Path, delimiter: str = ",") -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [row for row in csv.reader(f, delimiter=delimiter) if row]


def test_bom_crlf_quoted_newlines_read_exactly_as_the_csv_module_reads_them(
        tmp_path: Path) -> None:
    data = reflections_csv(tmp_path / "r.csv", rows=300)
    expected = parse_with_csv_module(data.path)
    with open_csv(data.path) as table:
        assert table.header == expected[0] == ["Question", "Answers", "Final"]
        rows = list(table.records())
        assert table.dialect.bom
        assert table.dialect.line_terminator == "\r\n"
    assert [n for n, _ in rows] == list(range(1, 301))
    assert [fields for _, fields in rows] == expected[1:]
    assert any("\n" in fields[1] for _, fields in rows)
    assert any('"' in fields[1] for _, fields in rows)
    assert [fields for _, fields in rows] == [list(r.values()) for r in data.records]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    data = reflections_csv(tmp_path / "r.csv", rows=60)
    path = tmp_path / "d.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(["Question", "Answers", "Final"])
        writer.writerows(r.values() for r in data.records)
    with open_csv(path) as table:
        assert table.dialect.delimiter == delimiter
        assert [fields for _, fields in table.records()] == [
            list(r.values()) for r in data.records]


def test_inspect_counts_records_not_lines_and_describes_columns(tmp_path: Path) -> None:
    data = reflections_csv(tmp_path / "r.csv", rows=250)
    summary = inspect_csv(data.path)
    assert summary.rows == 250
    assert data.path.read_bytes().count(b"\n") > 251
    question, answers, final = summary.columns
    assert [c.name for c in summary.columns] == ["Question", "Answers", "Final"]
    assert final.distinct == 4
    assert final.distinct_exact
    assert sorted(final.samples) == ["1", "2", "3", "4"]
    assert answers.empty == len(data.empty_answers)
    assert question.distinct == len({r["Question"].strip() for r in data.records})
    for column in summary.columns:
        assert 0 < len(column.samples) <= 5
        assert len(set(column.samples)) == len(column.samples)
        assert all(s and s == s.strip() for s in column.samples)


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("\n\na,b\n1,2\n\n3,4\n\n", encoding="utf-8")
    assert inspect_csv(path).rows == 2
    with open_csv(path) as table:
        assert list(table.records()) == [(1, ["1", "2"]), (2, ["3", "4"])]


def test_long_samples_are_shortened(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("a\n" + "x" * 5000 + "\n", encoding="utf-8")
    (column,) = inspect_csv(path).columns
    assert len(column.samples[0]) == 200
    assert column.samples[0].endswith("…")


@pytest.mark.parametrize(("text", "words"), [
    ("a,b,c\n1,2,3\n4,5\n", ["Row 2 (line 3)", "2 fields", "3 columns"]),
    ("a,b\n1,2\n\"x\ny\",2,3\n", ["Row 2 (line 3)", "3 fields", "2 columns"]),
    ("", ["empty"]),
    ("\n\n", ["empty"]),
    ("a,,c\n1,2,3\n", ["column 2 without a name"]),
    ("a,b, a\n1,2,3\n", ["'a' more than once"]),
])
def test_malformed_csv_is_refused_with_where(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidFile) as caught:
        inspect_csv(path)
    for word in words:
        assert word in caught.value.detail
    assert caught.value.code == "invalid_file"


def test_inspect_of_a_latin1_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b\n1,ok\n2,café\n".encode("latin-1"))
    with pytest.raises(UnsupportedEncoding) as caught:
        inspect_csv(path)
    assert location(caught.value)[0] == 3


def test_header_names_are_stripped(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(" Question , Final\nq,1\n", encoding="utf-8")
    with open_csv(path) as table:
        assert table.header == ["Question", "Final"]
        assert table.raw_header == [" Question ", " Final"]


@pytest.mark.parametrize(("text", "delimiter", "first"), [
    ("name;price\nTea;1,50\nCake;2,75\n", ";", ["Tea", "1,50"]),
    ("text\nhello, world\nbye; now\n", ",", ["hello", " world"]),
    ("a\tb\n\"x;y|z, w\"\t1\n", "\t", ["x;y|z, w", "1"]),
])
def test_delimiter_is_the_one_that_splits_rows_alike(
        tmp_path: Path, text: str, delimiter: str, first: list[str]) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    with open_csv(path) as table:
        assert table.dialect.delimiter == delimiter
        if len(table.header) > 1:
            assert next(table.records())[1] == first


def test_unbalanced_quotes_do_not_make_detection_slow(tmp_path: Path) -> None:
    # csv.Sniffer needs seconds for this 64 KB; detection must stay linear.
    path = tmp_path / "q.csv"
    path.write_text("a,b\n" + "".join(f'{i},"x\n' for i in range(20_000)), encoding="utf-8")
    started = time.perf_counter()
    inspect_csv(path)
    assert time.perf_counter() - started < 1.0


def test_distinct_count_is_exact_up_to_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("id,kind\n" + "".join(f"{i},{i % 3}\n" for i in range(100_001)),
                    encoding="utf-8")
    ids, kinds = inspect_csv(path).columns
    assert (ids.distinct, ids.distinct_exact) == (100_000, False)
    assert (kinds.distinct, kinds.distinct_exact) == (3, True)
