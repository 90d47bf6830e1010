"""A job's events: the service's own status changes and the provider's messages, each once."""

from typing import Any, Literal

from service import clock
from service.context import Context
from service.store.events import EventLog

Level = Literal["info", "warn", "error"]
EventType = Literal["status", "message", "metrics", "checkpoint"]


def log_of(ctx: Context) -> EventLog:
    return EventLog(ctx.redis, "job")


def record(ctx: Context, job_id: str, type_: EventType, message: str, *,
           data: dict[str, Any] | None = None, level: Level = "info",
           source: Literal["service", "openai"] = "service", created_at: int | None = None,
           source_id: str = "") -> str | None:
    """Append one event; a provider event (source_id) is appended only the first time."""
    event = {"object": "job.event", "created_at": created_at or clock.now(), "level": level,
             "type": type_, "message": message, "data": data or {}, "source": source}
    return log_of(ctx).append(job_id, event, source_id)

