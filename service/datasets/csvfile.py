"""CSV files as the service accepts them: UTF-8 (BOM optional), any of four delimiters, RFC 4180
quoting (fields may hold delimiters, doubled quotes and newlines). Read record by record.
The delimiter is the one of `,` `;` tab `|` that splits the first 64 KB most consistently.

Row numbers are data-row numbers: the first record after the header is row 1. Blank lines are
not records; they are skipped and not counted. Messages also give the physical line.
"""

import codecs
import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from pydantic import BaseModel

from service.errors import InvalidFile, UnsupportedEncoding

DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024
SAMPLES = 5
SAMPLE_CHARS = 200
DISTINCT_CAP = 100_000
CHECK_CHUNK = 1 << 20

# One spreadsheet cell may hold a long text; the csv module's default limit is 128 KiB.
csv.field_size_limit(64 * 2**20)

_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 (little-endian)"),
    (codecs.BOM_UTF32_BE, "UTF-32 (big-endian)"),
    (codecs.BOM_UTF16_LE, "UTF-16 (little-endian)"),
    (codecs.BOM_UTF16_BE, "UTF-16 (big-endian)"),
)
_SAVE_AS = 'save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)")'


class EncodingCheck:
    """Refuses, while an upload streams by, bytes that are not UTF-8 text.

    Feed every chunk, then call finish(). A UTF-8 BOM is accepted; UTF-16/32 BOMs, invalid
    UTF-8 (also split across chunks) and NUL bytes raise UnsupportedEncoding naming the
    1-based line and the 0-based byte offset from the start of the file.
    """

    def __init__(self, name: str | None = None) -> None:
        self._subject = repr(name) if name else "The file"
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._head: bytes | None = b""  # held until 4 bytes tell whether a BOM is foreign
        self._offset = 0  # bytes checked before the current chunk
        self._lines = 0  # newlines seen before the current chunk

    def feed(self, chunk: bytes) -> None:
        """Check the next chunk of the file."""
        if self._head is not None:
            self._head += chunk
            if len(self._head) < 4:
                return
            chunk, self._head = self._head, None
            self._refuse_foreign_bom(chunk)
        self._check(chunk, final=False)

    def finish(self) -> None:
        """Check that the file does not end inside a multi-byte sequence."""
        chunk = b""
        if self._head is not None:
            chunk, self._head = self._head, None
            self._refuse_foreign_bom(chunk)
        self._check(chunk, final=True)

    def _refuse_foreign_bom(self, head: bytes) -> None:
        for bom, encoding in _OTHER_BOMS:
            if head.startswith(bom):
                raise UnsupportedEncoding(
                    f"{self._subject} is {encoding} text, not UTF-8: {_SAVE_AS}.",
                    errors=[{"field": "file", "message": f"starts with a {encoding} BOM"}])

    def _check(self, chunk: bytes, *, final: bool) -> None:
        nul = chunk.find(b"\x00")
        text = chunk if nul < 0 else chunk[:nul]
        pending = self._decoder.getstate()[0]
        if pending or final or nul >= 0 or not text.isascii():
            try:
                self._decoder.decode(text, final or nul >= 0)
            except UnicodeDecodeError as exc:
                self._refuse_byte(chunk, pending, exc.start - len(pending))
        if nul >= 0:
            line, offset = self._locate(chunk, nul)
            raise UnsupportedEncoding(
                f"{self._subject} holds a NUL byte (line {line}, byte {offset}): it is binary, "
                f"or UTF-16/32 text without a BOM; {_SAVE_AS}.",
                errors=[{"field": "file", "message": f"NUL byte at line {line}"}])
        self._lines += chunk.count(b"\n")
        self._offset += len(chunk)

    def _refuse_byte(self, chunk: bytes, pending: bytes, at: int) -> None:
        """at: position in chunk of the first bad byte; negative when it began in pending."""
        value = chunk[at] if at >= 0 else pending[at]
        line, offset = self._locate(chunk, at)
        raise UnsupportedEncoding(
            f"{self._subject} is not UTF-8 (line {line}, byte {offset}: 0x{value:02X}): "
            f"{_SAVE_AS}.",
            errors=[{"field": "file", "message": f"invalid UTF-8 at line {line}, byte {offset}"}])

    def _locate(self, chunk: bytes, at: int) -> tuple[int, int]:
        # Bytes pending from the previous chunk are part of one multi-byte sequence: no newline.
        return self._lines + chunk.count(b"\n", 0, max(at, 0)) + 1, self._offset + at


def check_encoding(path: Path, name: str | None = None) -> None:
    """Raise UnsupportedEncoding unless the file at path is UTF-8 text."""
    check = EncodingCheck(name)
    with path.open("rb") as f:
        while chunk := f.read(CHECK_CHUNK):
            check.feed(chunk)
    check.finish()


class CsvDialect(BaseModel):
    delimiter: str = ","
    quotechar: str = '"'
    line_terminator: str = "\r\n"
    bom: bool = False


class ColumnSummary(BaseModel):
    name: str
    samples: list[str]
    distinct: int
    distinct_exact: bool = True
    empty: int = 0


class CsvSummary(BaseModel):
    rows: int
    columns: list[ColumnSummary]
    dialect: CsvDialect


class _Reader(Protocol):
    line_num: int

    def __next__(self) -> list[str]: ...


@dataclass
class CsvTable:
    """An open CSV file: its header (names stripped), then its records one at a time."""

    header: list[str]
    raw_header: list[str]
    dialect: CsvDialect
    _reader: _Reader

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (row number, fields), each record with exactly one field per column."""
        row = 0
        while True:
            line = self._reader.line_num
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _invalid(
                    f"Row {row + 1} (line {line + 1}) is not valid CSV: {exc}.") from None
            if not fields:
                continue
            row += 1
            if len(fields) != len(self.header):
                raise _invalid(
                    f"Row {row} (line {line + 1}) has {len(fields)} fields; the header has "
                    f"{len(self.header)} columns. Quote fields that hold a delimiter or a newline.")
            yield row, fields

    def index(self, column: str) -> int | None:
        """The position of a column, or None when there is no such column."""
        return self.header.index(column) if column in self.header else None


@contextmanager
def open_csv(path: Path) -> Iterator[CsvTable]:
    """Open a UTF-8 CSV file, detect its dialect and read its header."""
    with path.open("rb") as raw:
        bom = raw.read(3) == codecs.BOM_UTF8
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            dialect = _sniff(f, bom)
            reader = csv.reader(f, delimiter=dialect.delimiter, quotechar=dialect.quotechar,
                                doublequote=True, strict=False)
            raw_header = _read_header(reader)
            yield CsvTable(_check_header(raw_header), raw_header, dialect, reader)
    except UnicodeDecodeError:
        check_encoding(path)
        raise


def inspect_csv(path: Path) -> CsvSummary:
    """Count the records of a CSV file and describe each column, reading it once."""
    with open_csv(path) as table:
        columns = [_ColumnStats() for _ in table.header]
        rows = 0
        for _, fields in table.records():
            rows += 1
            for stats, value in zip(columns, fields, strict=True):
                stats.add(value.strip())
        return CsvSummary(rows=rows, dialect=table.dialect,
                          columns=[s.summary(n)
                                   for s, n in zip(columns, table.header, strict=True)])


class _ColumnStats:
    def __init__(self) -> None:
        self.samples: list[str] = []
        self.hashes: set[int] = set()
        self.capped = False
        self.empty = 0

    def add(self, value: str) -> None:
        if not value:
            self.empty += 1
            return
        if self.capped:
            return
        # 8-byte digests keep the set small and stable across processes (unlike hash()).
        digest = hashlib.blake2b(value.encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "little")
        if key in self.hashes:
            return
        if len(self.hashes) >= DISTINCT_CAP:
            self.capped = True
            return
        self.hashes.add(key)
        if len(self.samples) < SAMPLES:
            self.samples.append(value if len(value) <= SAMPLE_CHARS
                                else value[:SAMPLE_CHARS - 1] + "…")

    def summary(self, name: str) -> ColumnSummary:
        return ColumnSummary(name=name, samples=self.samples, distinct=len(self.hashes),
                             distinct_exact=not self.capped, empty=self.empty)


def _sniff(f: TextIO, bom: bool) -> CsvDialect:
    sample = f.read(SNIFF_BYTES)
    f.seek(0)
    newline = sample.find("\n")
    terminator = "\r\n" if newline > 0 and sample[newline - 1] == "\r" else (
        "\n" if newline >= 0 or "\r" not in sample else "\r")
    return CsvDialect(delimiter=_guess_delimiter(sample, len(sample) == SNIFF_BYTES),
                      line_terminator=terminator, bom=bom)


def _guess_delimiter(sample: str, cut: bool) -> str:
    """The delimiter that splits the header into most columns and the most rows alike.

    Not csv.Sniffer: its regular expressions take seconds on a crafted 64 KB sample, and it
    mistakes apostrophes in free text for quotes. The quote is always '"'.
    """
    best, best_score = ",", (0.0, 1)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        rows = rows[:-1] if cut and len(rows) > 1 else rows  # the last one may be cut short
        width = len(rows[0]) if rows else 0
        if width < 2:
            continue
        score = (sum(len(r) == width for r in rows) / len(rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_header(reader: Iterator[list[str]]) -> list[str]:
    try:
        for fields in reader:
            if fields:
                return fields
    except csv.Error as exc:
        raise _invalid(f"The header is not valid CSV: {exc}.") from None
    raise _invalid("The file is empty: a CSV needs a header row naming its columns.")


def _check_header(raw: list[str]) -> list[str]:
    names = [name.strip() for name in raw]
    unnamed = [str(i) for i, name in enumerate(names, 1) if not name]
    if unnamed:
        raise _invalid(f"The header leaves column {', '.join(unnamed)} without a name; "
                       "every column needs a name.")
    twice = [name for name, n in Counter(names).items() if n > 1]
    if twice:
        raise _invalid(f"The header names {', '.join(map(repr, twice))} more than once; "
                       "column names must be unique.")
    return names


def _invalid(detail: str) -> InvalidFile:
    return InvalidFile(detail, errors=[{"field": "file", "message": detail}])
