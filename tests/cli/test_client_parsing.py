"""How the client reads what the API answers: event streams and errors of both shapes."""

import httpx

from ftm.client import error_of, sse_events


def test_event_stream_is_read_event_by_event() -> None:
    lines = [": ping", "event: status", "id: 1-0", 'data: {"data": {"to": "running"}}', "",
             "event: metrics", "id: 2-0", 'data: {"data": {"step": 3}}', "", "",
             "data: [DONE]", ""]
    assert list(sse_events(iter(lines))) == [
        ("status", "1-0", {"data": {"to": "running"}}),
        ("metrics", "2-0", {"data": {"step": 3}}),
        ("message", None, "[DONE]")]


def test_problem_and_openai_errors_keep_their_code() -> None:
    problem = httpx.Response(404, json={"type": "about:blank", "title": "Not Found",
                                        "status": 404, "code": "dataset_not_found",
                                        "detail": "No dataset 'ds_x' in this project."})
    error = error_of(problem)
    assert (error.status, error.code, error.detail) == (
        404, "dataset_not_found", "No dataset 'ds_x' in this project.")
    openai = httpx.Response(400, json={"error": {"message": "too long", "type":
                                                 "invalid_request_error",
                                                 "code": "context_length_exceeded"}})
    assert (error_of(openai).code, error_of(openai).detail) == ("context_length_exceeded",
                                                                "too long")
    plain = error_of(httpx.Response(502, text="Bad Gateway"))
    assert (plain.status, plain.code, plain.detail) == (502, "http_502", "Bad Gateway")
