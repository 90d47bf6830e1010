"""Uploads named in any script and checked byte by byte: file names decoded per RFC 7578 and
RFC 5987 and kept exactly; every byte's encoding checked once, at its exact line."""

import asyncio
import io
from urllib.parse import quote

import pytest

from service.datasets import upload as uploads
from service.errors import UnsupportedEncoding
from tests.factories import chat_lines
from tests.support.api import problem
from tests.support.uploads import BOUNDARY, CSV, MULTIPART, body, part, post_raw


@pytest.mark.parametrize("filename", ["café.csv", "отчёт.csv", "数据 v2.csv", "naïve 🎉.csv",
                                      'quote"d.csv'])
def test_file_names_are_kept_exactly(client, auth, filename):
    quoted = filename.replace('"', "%22").encode()  # as browsers escape a quote (HTML5)
    sent = filename.encode() if '"' not in filename else quoted
    answer = post_raw(client, auth, body(part(b'name="file"; filename="' + sent + b'"', CSV)))
    assert answer.status_code == 201, answer.text
    expected = filename if '"' not in filename else quoted.decode()
    assert answer.json()["filename"] == expected
    assert answer.json()["name"] == expected
    content = client.get(f"/v1/datasets/{answer.json()['id']}/content", headers=auth)
    assert content.headers["content-disposition"].endswith(quote(expected))


def test_filename_star_is_decoded_and_preferred(client, auth):
    disposition = (b'name="file"; filename="report.csv"; filename*=UTF-8\'\''
                   + quote("отчёт.csv").encode())
    answer = post_raw(client, auth, body(part(disposition, CSV)))
    assert answer.status_code == 201, answer.text
    assert answer.json()["filename"] == "отчёт.csv"
    latin = post_raw(client, auth, body(part(b"name=\"file\"; filename*=iso-8859-1''caf%E9.csv",
                                             CSV)))
    assert latin.json()["filename"] == "café.csv"


def test_a_field_named_outside_latin_1_is_ignored_not_a_500(client, auth):
    field = (b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="'
             + "имя".encode() + b'"\r\n\r\nx\r\n')
    answer = post_raw(client, auth, body(field, part(b'name="file"; filename="a.csv"', CSV)))
    assert answer.status_code == 201, answer.text
    dataset = answer.json()
    assert dataset["id"].startswith("ds_")
    assert dataset["filename"] == "a.csv"
    assert dataset["bytes"] == len(CSV)


@pytest.mark.parametrize("disposition", [b'name="file"; filename="caf\xe9.csv"',
                                         b"name=\"file\"; filename*=UTF-8''caf%E9.csv",
                                         b"name=\"file\"; filename*=koi8-r''x.csv",
                                         b'name="\xff"; filename="a.csv"'])
def test_undecodable_names_are_422(client, auth, untouched, disposition):
    problem(post_raw(client, auth, body(part(disposition, CSV))), 422, "invalid_multipart")
    untouched()


def test_a_name_field_that_is_not_utf_8_is_422(client, auth, untouched):
    field = (b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="name"'
             b"\r\n\r\ncaf\xe9\r\n")
    answer = post_raw(client, auth, body(field, part(b'name="file"; filename="a.csv"', CSV)))
    assert problem(answer, 422, "invalid_multipart")["errors"][0]["field"] == "body.name"
    untouched()


def csv_with_bad_byte_at(line: int) -> bytes:
    """A CSV whose line `line` (1-based) holds a Latin-1 é, every other line ASCII."""
    rows = [b"prompt,completion\n"] + [b"q%d,a%d\n" % (n, n) for n in range(2, line)]
    return b"".join(rows) + b"caf\xe9,x\n" + b"q,a\n" * 5


@pytest.mark.parametrize("fields", [{}, {"format": "csv"}], ids=["auto", "csv"])
@pytest.mark.parametrize("line", [900, 200_002])  # ~10 KB in, and far in
def test_a_latin_1_byte_is_refused_at_upload_at_its_exact_line(client, auth, untouched,
                                                               fields, line):
    content = csv_with_bad_byte_at(line)
    answer = client.post("/v1/datasets", headers=auth, data=fields,
                         files={"file": ("data.csv", io.BytesIO(content))})
    found = problem(answer, 422, "unsupported_encoding")
    offset = content.index(b"\xe9")
    assert f"line {line}, byte {offset}: 0xE9" in found["detail"]
    untouched()


def receive(content: bytes, chunk: int, fmt: str) -> None:
    async def stream():
        data = body(part(b'name="file"; filename="a.csv"', content))
        for start in range(0, len(data), chunk):
            yield data[start:start + chunk]

    asyncio.run(uploads.receive(stream(), MULTIPART, io.BytesIO(), 1 << 30, fmt))


@pytest.mark.parametrize("chunk", [1, 7, 4095, 4096, 4097, 10_000, 65_536, 1 << 20])
def test_every_chunking_reports_the_same_line(chunk):
    content = csv_with_bad_byte_at(1200)
    offset = content.index(b"\xe9")
    for fmt in ("auto", "csv"):
        with pytest.raises(UnsupportedEncoding) as refused:
            receive(content, chunk, fmt)
        assert f"line 1200, byte {offset}:" in refused.value.detail
    receive(chat_lines(400).encode(), chunk, "auto")  # JSONL: left to validation
