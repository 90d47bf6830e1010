"""Libraries' log lines come out as the service's do: one JSON object each, secrets dropped, their
per-task and per-request chatter below INFO."""

import logging

import orjson

from service import logs


def lines(capsys) -> list[dict]:
    return [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_library_lines_are_json_with_their_logger_and_traceback(capsys):
    logs.configure("INFO")
    logging.getLogger("rq.worker").setLevel(logging.INFO)  # as Worker.work(logging_level=) does
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("rq.worker").info("Worker %s: started, key sk-abcdefghijklmnop", "w1")
    first, second = lines(capsys)
    assert first["logger"] == "uvicorn.error"
    assert first["level"] == "error"
    assert "ZeroDivisionError: boom" in first["exception"]
    assert second["event"] == "Worker w1: started, key [redacted]"


def test_routine_library_lines_are_debug(capsys):
    logs.configure("INFO")
    logging.getLogger("httpx").info("HTTP Request: %s %s", "GET", "http://emulator/v1/models")
    logging.getLogger("rq.worker").info("Worker %s: %s: %s (%s)", "w1", "ftm", "Job OK", "j1")
    logging.getLogger("rq.worker").warning("Worker %s: job %s timed out", "w1", "j1")
    assert [line["level"] for line in lines(capsys)] == ["warning"]
    logs.configure("DEBUG")
    logging.getLogger("httpx").info("HTTP Request: %s %s", "GET", "http://emulator/v1/models")
    assert [line["level"] for line in lines(capsys)] == ["debug"]
    logs.configure("INFO")
