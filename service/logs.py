"""One JSON object per line, from the service and from the libraries it runs on (RQ, httpx,
uvicorn); secrets are dropped by a processor, never left to callers."""

import json
import logging
import re
import sys
import threading
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, Processor

SECRET_FIELDS = {"authorization", "api_key", "openai_api_key", "admin_key", "key", "secret",
                 "password", "token"}
SECRET_VALUE = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}|ftm_[A-Za-z0-9_\-]{6,}|whsec_[A-Za-z0-9+/=]{6,})")
# Library lines written for every task or provider request: debug, not info.
ROUTINE = ("Worker %s: %s: %s", "Successfully completed", "Worker %s: job %s result",
           "Worker %s: cleaning registries", "Enqueued job ", "HTTP Request:")
# Loggers that bring their own handlers; their lines go through the root's JSON one instead.
OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker", "rq.cron",
                "rq.scheduler")


def redact(value: Any) -> Any:
    if isinstance(value, str):
        return SECRET_VALUE.sub("[redacted]", value)
    if isinstance(value, dict):
        return {k: "[redacted]" if str(k).lower() in SECRET_FIELDS else redact(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def drop_secrets(_: Any, __: str, event: EventDict) -> EventDict:
    return redact(event)  # type: ignore[no-any-return]


class Routine(logging.Filter):
    """Demotes the libraries' per-task and per-request info lines to debug."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if (record.levelno == logging.INFO and isinstance(record.msg, str)
                and record.msg.startswith(ROUTINE)):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.level


WRITE_LOCK = threading.Lock()


def write_line(line: str) -> None:
    """A whole line in one write, under one lock for the service's lines and the libraries':
    lines from different threads never interleave."""
    with WRITE_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class LineLogger:
    """structlog's output: each rendered event through write_line."""

    def msg(self, message: str) -> None:
        write_line(message)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class StdoutHandler(logging.Handler):
    """Writes to the sys.stdout of the moment, as structlog's own lines do, through the same
    lock."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_line(self.format(record))
        except Exception:
            self.handleError(record)



def to_json(event: dict[str, Any], **_: Any) -> str:
    """One log line's JSON; orjson, or the standard library for what it refuses (huge ints)."""
    try:
        return orjson.dumps(event, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(event, default=str)


SHARED: list[Processor] = [structlog.contextvars.merge_contextvars,
                           structlog.processors.add_log_level,
                           structlog.processors.TimeStamper(fmt="iso", utc=True)]


def library_handler(level: int) -> logging.Handler:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*SHARED, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, drop_secrets,
                    structlog.processors.JSONRenderer(to_json)])
    handler = StdoutHandler()
    handler.setFormatter(formatter)
    handler.addFilter(Routine(level))
    handler.ftm = True  # type: ignore[attr-defined]
    return handler


def route_libraries(level: int) -> None:
    """The root logger writes JSON; libraries' loggers hand their lines to it."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "ftm", False)]:
        root.removeHandler(old)
    root.addHandler(library_handler(level))
    root.setLevel(level)
    for name in OWN_HANDLERS:
        logger = logging.getLogger(name)
        if logger.handlers:  # one without any was silenced (uvicorn --no-access-log): stays so
            logger.handlers.clear()
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
    logging.captureWarnings(True)


def configure(level: str = "INFO") -> None:
    number = logging.getLevelName(level.upper())
    route_libraries(number)
    structlog.configure(
        processors=[*SHARED, structlog.processors.format_exc_info, drop_secrets,
                    structlog.processors.JSONRenderer(to_json)],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        # Not cached: a later configure() (another app in the process) takes effect, and each
        # line goes to the sys.stdout of its moment.
        logger_factory=lambda *_: LineLogger(), cache_logger_on_first_use=False)


log = structlog.get_logger()
