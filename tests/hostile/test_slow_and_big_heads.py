"""Attacks that need a real server and raw sockets: huge heads, bodies that stall or trickle."""

import asyncio
import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.factories import chat_lines
from tests.support.uploads import BOUNDARY, MULTIPART, multipart, stored_files


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"body_idle_timeout_seconds": 0.5, "body_min_bytes_per_second": 2000,
            "rate_limit_per_minute": 100_000}


def connect(live_url: str) -> socket.socket:
    parts = urlsplit(live_url)
    return socket.create_connection((parts.hostname, parts.port), timeout=20)


def answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP/1.1 response read from sock."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def request_head(live_url: str, line: str, headers: dict[str, str]) -> bytes:
    host = urlsplit(live_url).netloc
    return (f"{line} HTTP/1.1\r\nHost: {host}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


def send(live_url: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with connect(live_url) as sock:
        sock.sendall(raw)
        return answer(sock)


def problem_of(status: int, headers: dict[str, str], body: bytes, expected: int, code: str):
    assert status == expected, body[:300]
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["code"] == code


def still_serving(live_url: str, auth: dict[str, str]) -> None:
    status, _, _ = send(live_url, request_head(live_url, "GET /v1/datasets", auth))
    assert status == 200


def test_one_huge_header_is_431(live_url, auth):
    raw = request_head(live_url, "GET /v1/datasets", {**auth, "X-Big": "a" * 200_000})
    problem_of(*send(live_url, raw), 431, "headers_too_large")
    still_serving(live_url, auth)


def test_thousands_of_headers_are_431(live_url, auth):
    many = {f"X-H{i}": "a" for i in range(2000)}
    raw = request_head(live_url, "GET /v1/datasets", {**auth, **many})
    problem_of(*send(live_url, raw), 431, "headers_too_large")
    still_serving(live_url, auth)


def test_url_over_the_limit_is_414(live_url, auth):
    raw = request_head(live_url, "GET /v1/datasets?after=" + "a" * 20_000, auth)
    problem_of(*send(live_url, raw), 414, "uri_too_long")
    still_serving(live_url, auth)


def test_url_too_long_for_the_http_parser_is_refused_and_the_server_lives(live_url, auth):
    # Past what the HTTP parser takes, uvicorn itself answers a plain 400 before the app.
    raw = request_head(live_url, "GET /v1/datasets?after=" + "a" * 200_000, auth)
    status, _, _ = send(live_url, raw)
    assert 400 <= status < 500
    still_serving(live_url, auth)


def upload_head(live_url: str, auth: dict[str, str], length: int) -> bytes:
    return request_head(live_url, "POST /v1/datasets", {
        **auth, "Content-Type": MULTIPART, "Content-Length": str(length)})


def test_upload_that_stops_halfway_is_timed_out_and_nothing_stored(live_url, auth, settings):
    body = multipart(chat_lines(200).encode())
    with connect(live_url) as sock:
        sock.sendall(upload_head(live_url, auth, len(body)) + body[:len(body) // 2])
        problem_of(*answer(sock), 408, "request_timeout")
    assert stored_files(settings) == []
    still_serving(live_url, auth)
    _, _, listed = send(live_url, request_head(live_url, "GET /v1/datasets", auth))
    assert json.loads(listed)["data"] == []


def test_trickled_upload_is_timed_out_and_nothing_stored(live_url, auth, settings):
    body = multipart(chat_lines(200).encode())
    assert BOUNDARY.encode() in body
    with connect(live_url) as sock:
        sock.sendall(upload_head(live_url, auth, len(body)))
        sock.settimeout(0.1)
        refused = None
        for at in range(len(body)):  # one byte every 0.1 s: well under the minimum rate
            try:
                sock.sendall(body[at:at + 1])
                time.sleep(0.1)
                sock.recv(1, socket.MSG_PEEK)
            except TimeoutError:
                continue
            except OSError:
                pass
            refused = at
            break
        assert refused is not None, "the trickle was not cut off"
        assert refused < len(body) - 1, "the trickle was not cut off"
        sock.settimeout(20)
        problem_of(*answer(sock), 408, "request_timeout")
    assert stored_files(settings) == []
    still_serving(live_url, auth)


def test_trickled_json_body_is_timed_out(live_url, auth):
    body = json.dumps({"model": "gpt-4o-mini-2024-07-18", "training_dataset": "ds_x"}).encode()
    head = request_head(live_url, "POST /v1/jobs", {
        **auth, "Content-Type": "application/json", "Content-Length": str(len(body))})
    with connect(live_url) as sock:
        sock.sendall(head + body[:5])
        problem_of(*answer(sock), 408, "request_timeout")
    still_serving(live_url, auth)



def test_waiting_for_a_disconnect_after_the_body_is_not_timed_out(settings):
    # The pace limit is on the client's body only: once it is in, a streamed answer waits for
    # the disconnect as long as it streams.
    from service.api.middleware import paced

    fast = settings.model_copy(update={"body_idle_timeout_seconds": 0.05})
    messages = [{"type": "http.request", "body": b"{}", "more_body": False},
                {"type": "http.disconnect"}]

    async def server_side() -> dict:
        if len(messages) == 1:
            await asyncio.sleep(0.3)  # the client hangs up long after its body
        return messages.pop(0)

    async def read_all() -> list[dict]:
        receive = paced(server_side, fast)
        return [await receive(), await receive()]

    first, second = asyncio.run(read_all())
    assert first["body"] == b"{}"
    assert second["type"] == "http.disconnect"


def test_a_stalled_body_is_timed_out_by_pace(settings):
    from service.api.middleware import paced
    from service.errors import RequestTimeout

    fast = settings.model_copy(update={"body_idle_timeout_seconds": 0.05})

    async def server_side() -> dict:
        await asyncio.sleep(0.3)
        return {"type": "http.request", "body": b"x", "more_body": True}

    with pytest.raises(RequestTimeout):
        asyncio.run(paced(server_side, fast)())
