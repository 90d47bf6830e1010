"""Bad uploads over HTTP: a precise 4xx or an `invalid` dataset naming the line, never a 500,
and nothing half-written left behind (no record, no file, no Redis key, no queued task)."""

import random
import socket
from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY

from tests.datagen import reflections_csv
from tests.factories import chat_lines, ready_dataset, upload, wait_until
from tests.support.api import problem
from tests.support.uploads import BOUNDARY, MULTIPART, multipart, post_raw, stored_files

# --- cut-off and malformed multipart -----------------------------------------------------

CONTENT = chat_lines(30).encode()
WHOLE = multipart(CONTENT, name="cut")
FILE_STARTS = WHOLE.index(CONTENT)


@pytest.mark.parametrize("cut", [
    pytest.param(WHOLE.index(b"filename="), id="inside-part-headers"),
    pytest.param(FILE_STARTS + len(CONTENT) // 2, id="mid-file"),
    pytest.param(FILE_STARTS + len(CONTENT), id="before-closing-boundary"),
    pytest.param(len(WHOLE) - 3, id="inside-closing-boundary"),
])
def test_truncated_multipart_is_422_and_nothing_stored(client, auth, untouched, cut):
    body = problem(post_raw(client, auth, WHOLE[:cut]), 422, "invalid_multipart")
    assert "cut short" in body["detail"]
    untouched()


def test_whole_raw_multipart_is_accepted(client, auth):
    response = post_raw(client, auth, WHOLE)
    assert response.status_code == 201, response.text
    assert response.json()["bytes"] == len(CONTENT)
    assert response.json()["name"] == "cut"


def test_truncated_upload_does_not_burn_its_idempotency_key(client, auth, untouched):
    headers = {**auth, "Idempotency-Key": "cut-then-whole"}
    problem(post_raw(client, headers, WHOLE[:len(WHOLE) // 2]), 422, "invalid_multipart")
    untouched()
    retry = post_raw(client, headers, WHOLE)
    assert retry.status_code == 201, retry.text
    assert retry.json()["bytes"] == len(CONTENT)


def test_body_without_the_declared_boundary_is_422(client, auth, untouched):
    body = WHOLE.replace(BOUNDARY.encode(), b"some-other-boundary")
    problem(post_raw(client, auth, body), 422, "invalid_multipart")
    untouched()


def test_two_file_parts_are_422(client, auth, untouched):
    part = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
            '\r\n').encode() + CONTENT + b"\r\n"
    body = part + part + f"--{BOUNDARY}--\r\n".encode()
    response = problem(post_raw(client, auth, body), 422, "invalid_multipart")
    assert "exactly one 'file'" in response["detail"]
    untouched()


def test_unknown_format_field_is_422_naming_it(client, auth, untouched):
    body = problem(upload(client, auth, CONTENT, format="parquet"), 422, "invalid_request")
    assert body["errors"] == [{"field": "body.format", "message": "unknown 'parquet'"}]
    untouched()


def uploads_answered(status: int) -> float:
    labels = {"method": "POST", "route": "/v1/datasets", "status": str(status)}
    return REGISTRY.get_sample_value("ftm_http_requests_total", labels) or 0.0


def test_client_closing_mid_upload_is_a_cut_short_upload(live_url, client, auth, settings,
                                                         untouched):
    content = chat_lines(3000).encode()
    body = multipart(content)
    url = urlsplit(live_url)
    head = (f"POST /v1/datasets HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: {auth['Authorization']}\r\nContent-Type: {MULTIPART}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    refused, failed = uploads_answered(422), uploads_answered(500)
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head + body[:len(body) // 2])
        # The route is streaming into storage once its temporary file exists.
        wait_until(lambda: stored_files(settings), timeout=20)
    wait_until(lambda: uploads_answered(422) == refused + 1, timeout=20)
    assert uploads_answered(500) == failed
    untouched()


# --- file contents refused while streaming --------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(20_000)


def test_zero_byte_file_is_422_and_nothing_stored(client, auth, untouched):
    body = problem(post_raw(client, auth, multipart(b"")), 422, "invalid_file")
    assert body["errors"] == [{"field": "body.file", "message": "0 bytes"}]
    untouched()


@pytest.mark.parametrize("fields", [{}, {"format": "csv"}], ids=["auto", "csv"])
def test_binary_file_is_422_unsupported_encoding(client, auth, untouched, fields):
    body = problem(upload(client, auth, PNG, filename="photo.png", **fields), 422,
                   "unsupported_encoding")
    assert "line 1, byte 0: 0x89" in body["detail"]
    assert body["errors"][0]["field"] == "file"
    untouched()


def test_binary_file_declared_jsonl_is_invalid_naming_line_1(client, ctx, auth):
    dataset = ready_dataset(client, ctx, auth, PNG, filename="photo.jsonl", format="chat")
    assert dataset["status"] == "invalid"
    assert dataset["format"] == "chat"
    assert "the first: line 1: Line is not valid UTF-8 (byte 1 of the line)" in dataset["error"]


@pytest.mark.parametrize(("declared", "content", "first"), [
    ("chat", b"q,a\nx,1\n", "line 1: Line is not valid JSON"),
    ("preference", chat_lines(3).encode(), 'line 1: Example has no "input" object'),
], ids=["csv-declared-chat", "chat-declared-preference"])
def test_declared_format_is_kept_and_content_checked_against_it(client, ctx, auth, declared,
                                                                content, first):
    dataset = ready_dataset(client, ctx, auth, content, format=declared)
    assert dataset["status"] == "invalid"
    assert dataset["format"] == declared
    assert first in dataset["error"]


# --- contents found bad by validation: `invalid`, with the line ------------------------------


@pytest.mark.parametrize("settings_overrides", [{"max_line_bytes": 300}])
@pytest.mark.parametrize("where", ["last-without-newline", "middle"])
def test_line_over_the_limit_is_invalid_naming_it(client, ctx, auth, settings_overrides, where):
    long = '{"messages": [{"role": "user", "content": "' + "x" * 1000 + '"}]}'
    lines = chat_lines(4).splitlines()
    if where == "middle":
        content, line = "\n".join([*lines[:2], long, *lines[2:]]) + "\n", 3
    else:
        content, line = "\n".join([*lines, long]), 5
    dataset = ready_dataset(client, ctx, auth, content)
    assert dataset["status"] == "invalid"
    assert dataset["rows"] == 5
    assert f"line {line}: Line is longer than 300 bytes" in dataset["error"]
    report = client.get(f"/v1/datasets/{dataset['id']}/report", headers=auth).json()
    assert report["errors"]["counts"]["line_too_long"] == 1
    assert report["valid_examples"] == 4
    assert [s["line"] for s in report["errors"]["samples"]] == [line]


def test_invalid_utf8_in_jsonl_is_invalid_naming_the_line(client, ctx, auth):
    lines = chat_lines(5).encode().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"Example", b"Ex\xffample")
    dataset = ready_dataset(client, ctx, auth, b"".join(lines))
    assert dataset["status"] == "invalid"
    assert dataset["format"] == "chat"
    assert "line 3: Line is not valid UTF-8" in dataset["error"]
    report = client.get(f"/v1/datasets/{dataset['id']}/report", headers=auth).json()
    assert report["errors"]["counts"]["invalid_encoding"] == 1
    assert report["errors"]["samples"][0]["line"] == 3
    rows = client.get(f"/v1/datasets/{dataset['id']}/rows", headers=auth)
    assert rows.status_code == 200
    assert len(rows.json()["data"]) == 5


def test_csv_row_with_extra_fields_is_invalid_naming_row_and_line(client, ctx, auth):
    content = b'q,a\n"two\nlines",1\nx,2\ny,3,surplus\nz,4\n'
    dataset = ready_dataset(client, ctx, auth, content, filename="r.csv")
    assert dataset["status"] == "invalid"
    assert dataset["rows"] is None
    assert "Row 3 (line 5) has 3 fields; the header has 2 columns" in dataset["error"]


def test_template_naming_a_missing_column_creates_nothing(client, ctx, auth, settings,
                                                          tmp_path, redis_client):
    source = reflections_csv(tmp_path / "reflections.csv", rows=30)
    parent = ready_dataset(client, ctx, auth, source.path)
    files, record_keys = stored_files(settings), set(redis_client.scan_iter("ftm:dataset:*"))
    body = {"target": "prompt_completion", "prompt": "{Question}", "completion": "{Grade}"}
    response = client.post(f"/v1/datasets/{parent['id']}/convert", headers=auth, json=body)
    problem_ = problem(response, 422, "unknown_column")
    assert "'Grade'" in problem_["detail"]
    assert "Question, Answers, Final" in problem_["detail"]
    assert problem_["errors"][0]["field"] == "body.completion"
    assert [d["id"] for d in client.get("/v1/datasets", headers=auth).json()["data"]] == [
        parent["id"]]
    assert stored_files(settings) == files
    assert set(redis_client.scan_iter("ftm:dataset:*")) == record_keys


# --- blank lines: tolerated, not counted ------------------------------------------------------


def test_blank_lines_in_jsonl_are_skipped_and_counted(client, ctx, auth):
    lines = chat_lines(12).splitlines()
    content = "\n" + "\n\n".join(lines[:6]) + "\n   \r\n" + "\r\n".join(lines[6:]) + "\n\n"
    dataset = ready_dataset(client, ctx, auth, content)
    assert dataset["status"] == "ready", dataset
    assert dataset["rows"] == 12
    assert dataset["error"] is None
    report = client.get(f"/v1/datasets/{dataset['id']}/report", headers=auth).json()
    assert report["examples"] == report["valid_examples"] == 12
    assert report["blank_lines"] == 1 + 5 + 1 + 1
    rows = client.get(f"/v1/datasets/{dataset['id']}/rows?offset=10", headers=auth).json()
    assert [r["row"] for r in rows["data"]] == [11, 12]


def test_error_after_blank_lines_names_the_physical_line(client, ctx, auth):
    content = "\n\n" + chat_lines(3) + "\n" + '{"messages": [{"role": "user"}]}\n\n'
    dataset = ready_dataset(client, ctx, auth, content)
    assert dataset["status"] == "invalid"
    assert "line 7" in dataset["error"]


def test_blank_lines_in_csv_are_skipped(client, ctx, auth):
    content = b"q,a\r\n\r\nx,1\r\n\r\n\r\ny,2\r\nz,3\r\n\r\n"
    dataset = ready_dataset(client, ctx, auth, content, filename="b.csv")
    assert dataset["status"] == "ready", dataset
    assert dataset["rows"] == 3
    assert [c["distinct"] for c in dataset["columns"]] == [3, 3]


def test_only_blank_lines_is_invalid_with_no_examples(client, ctx, auth):
    dataset = ready_dataset(client, ctx, auth, "\n\n  \n", format="chat")
    assert dataset["status"] == "invalid"
    assert dataset["error"] == "The file has no examples."
