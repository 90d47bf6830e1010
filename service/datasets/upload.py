"""Receive a multipart upload straight into storage: hashed, counted and checked on the way."""

import builtins
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import unquote_to_bytes

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from service.datasets.csvfile import EncodingCheck
from service.datasets.formats import guess_format
from service.errors import InvalidMultipart, InvalidName, PayloadTooLarge
from service.names import control_character

FIELD_LIMIT = 4096
TEXT_FIELDS = ("name", "format")
SNIFF_BYTES = 4096


def check_printable(text: str, what: str, field: str) -> str:
    found = control_character(text)
    if found:
        raise InvalidName(f"The {what} must not hold control characters ({found}).",
                          errors=[{"field": field, "message": f"control character {found}"}])
    return text


@dataclass
class Received:
    filename: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    bytes: int = 0
    sha256: str = ""
    head: builtins.bytes = b""  # `bytes` names the field above here


@dataclass
class PartState:
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[str, bytes] = field(default_factory=dict)


class FileSink:
    """Where the `file` part's bytes go: storage, the hash, the size limit, the CSV check."""

    def __init__(self, out: IO[bytes], limit: int, declared_format: str) -> None:
        self.out, self.limit, self.declared_format = out, limit, declared_format
        self.digest, self.size, self.head = hashlib.sha256(), 0, bytearray()
        self.encoding: EncodingCheck | None = None
        self.decided = declared_format != "auto"
        if declared_format == "csv":
            self.encoding = EncodingCheck()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise PayloadTooLarge(f"The file is over the upload limit of {self.limit} bytes.")
        self.digest.update(data)
        self.out.write(data)
        if not self.decided:
            room = SNIFF_BYTES - len(self.head)
            self.head += data[:room]
            if len(self.head) < SNIFF_BYTES:
                return
            self.decide()  # checks the head; the rest of this chunk follows
            data = data[room:]
        if self.encoding is not None:
            self.encoding.feed(data)

    def decide(self) -> None:
        """With format auto, check the encoding as CSV unless the file starts like JSON."""
        self.decided = True
        if guess_format(bytes(self.head)) == "csv":
            self.encoding = EncodingCheck()
            self.encoding.feed(bytes(self.head))

    def finish(self) -> None:
        if not self.decided:
            self.decide()
        if self.encoding is not None:
            self.encoding.finish()


def disposition(header: bytes) -> tuple[str, str | None]:
    """A part's name and file name from its Content-Disposition: UTF-8 as RFC 7578 says, and
    `filename*` (RFC 5987) preferred when a client sends it."""
    _, params = parse_options_header(header)
    name = utf8(params.get(b"name", b""), "field name")
    extended = re.search(rb';\s*filename\*\s*=\s*([^;]+)', header, re.IGNORECASE)
    if extended:
        return name, decode_extended(extended.group(1).strip())
    filename = params.get(b"filename")
    return name, None if filename is None else utf8(filename, "file name")


def decode_extended(value: bytes) -> str:
    """charset'language'percent-encoded, e.g. UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.csv"""
    charset, quote, rest = value.strip(b'"').partition(b"'")
    _, quote2, encoded = rest.partition(b"'")
    if not quote or not quote2 or charset.lower() not in (b"utf-8", b"iso-8859-1"):
        raise InvalidMultipart("The part's filename* is not charset'language'value with "
                               "charset UTF-8 or ISO-8859-1 (RFC 5987).")
    raw = unquote_to_bytes(encoded)
    return raw.decode("latin-1") if charset.lower() == b"iso-8859-1" else utf8(raw, "file name")


def utf8(raw: bytes, what: str, field: str = "body.file") -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidMultipart(f"The part's {what} is not UTF-8 (RFC 7578); send it as UTF-8 "
                               "(a file name also as filename*=UTF-8''<percent-encoded>).",
                               errors=[{"field": field, "message": f"{what} not UTF-8"}]
                               ) from None


async def receive(stream: AsyncIterator[bytes], content_type: str, out: IO[bytes],
                  limit: int, declared_format: str | None = None) -> Received:
    """Parse the multipart body, writing the `file` part to out; the other fields are kept."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidMultipart("Send the dataset as multipart/form-data with a 'file' part.")
    received, part = Received(), PartState()
    sink: FileSink | None = None
    ended = False

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part.header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part.header_value.extend(data[start:end])

    def on_header_end() -> None:
        part.headers[part.header_field.decode("latin-1").lower()] = bytes(part.header_value)
        part.header_field.clear()
        part.header_value.clear()

    def on_headers_finished() -> None:
        nonlocal sink
        part.name, part.filename = disposition(part.headers.get("content-disposition", b""))
        if part.name == "file":
            if sink is not None:
                raise InvalidMultipart("Send exactly one 'file' part.")
            received.filename = check_printable(part.filename or "upload", "file name",
                                                "body.file")
            fmt = declared_format or received.fields.get("format", "auto")
            sink = FileSink(out, limit, fmt)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.name == "file" and sink is not None:
            sink.write(data[start:end])
        elif part.name in TEXT_FIELDS:
            part.value.extend(data[start:end])
            if len(part.value) > FIELD_LIMIT:
                raise InvalidMultipart(f"The field {part.name!r} is too long.")

    def on_part_end() -> None:
        nonlocal part
        if part.name in TEXT_FIELDS:
            value = utf8(bytes(part.value), f"field {part.name!r}", f"body.{part.name}").strip()
            received.fields[part.name] = check_printable(value, f"field {part.name!r}",
                                                         f"body.{part.name}")
        part = PartState()

    def on_end() -> None:
        nonlocal ended
        ended = True

    callbacks: Any = {"on_header_field": on_header_field, "on_header_value": on_header_value,
                      "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
                      "on_part_data": on_part_data, "on_part_end": on_part_end, "on_end": on_end}
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise InvalidMultipart(f"The multipart body is malformed: {exc}.") from None
    if not ended:  # the parser's finalize() accepts a body that stops anywhere
        raise InvalidMultipart("The multipart body was cut short: it has no closing boundary "
                               f"'--{boundary.decode('latin-1')}--'; send the whole file again.")
    if sink is None:
        raise InvalidMultipart("The form has no 'file' part.",
                               errors=[{"field": "body.file", "message": "required"}])
    sink.finish()
    received.bytes, received.sha256 = sink.size, sink.digest.hexdigest()
    received.head = bytes(sink.head)
    return received
