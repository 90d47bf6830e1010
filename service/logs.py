"""One JSON object per line; secrets are dropped by a processor, never left to callers."""

import logging
import re
import sys
from typing import Any

import structlog

SECRET_FIELDS = {"authorization", "api_key", "openai_api_key", "admin_key", "key", "secret",
                 "password", "token"}
SECRET_VALUE = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|ftm_[A-Za-z0-9_\-]{6,}|whsec_[A-Za-z0-9+/=]{6,})")


def redact(value: Any) -> Any:
    if isinstance(value, str):
        return SECRET_VALUE.sub("[redacted]", value)
    if isinstance(value, dict):
        return {k: "[redacted]" if str(k).lower() in SECRET_FIELDS else redact(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def drop_secrets(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    return redact(event)  # type: ignore[no-any-return]


def configure(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.format_exc_info, drop_secrets,
                    structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # Not cached: a later configure() (another app in the process) takes effect, and each
        # line goes to the sys.stdout of its moment.
        logger_factory=structlog.PrintLoggerFactory(), cache_logger_on_first_use=False)


log = structlog.get_logger()
