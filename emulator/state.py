"""All of the emulator's state, in memory.

Every handler is `async def` and mutates state without awaiting in between, so the event loop
serialises all changes; work done in threads (file analysis, batches) is pure and hands back
plain values.
"""

import heapq
import itertools
import random
import secrets
import string
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

if TYPE_CHECKING:
    from emulator.batches import Batch
    from emulator.files import Upload
    from emulator.lifecycle import Job

ALPHABET = string.ascii_letters + string.digits
LOG_SIZE = 10_000


def new_id(prefix: str, length: int = 24) -> str:
    """An OpenAI-looking id: file-…, ftjob-…, batch_…"""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


def now() -> float:
    return time.time()


@dataclass(frozen=True)
class Settings:
    """What the command line fixed; `reset` returns to it."""
    speed: float = 1.0
    webhook_url: str | None = None
    webhook_secret: str | None = None


@dataclass
class FileRecord:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int
    expires_at: int | None = None

    def render(self) -> dict[str, Any]:
        return {"id": self.id, "object": "file", "bytes": len(self.content),
                "created_at": self.created_at, "filename": self.filename,
                "purpose": self.purpose, "status": "processed", "expires_at": self.expires_at,
                "status_details": None}


@dataclass
class FineTunedModel:
    id: str
    created: int
    base: str
    job_id: str
    examples: tuple[tuple[str, str], ...]
    brain: Any = None  # built from the examples on first use
    deleted: bool = False


@dataclass
class Faults:
    """Injected failures and limits; see the admin routes for each field's meaning."""
    rate_limit_fraction: float = 0.0
    error_fraction: float = 0.0
    error_status: int = 500
    retry_after_ms: int = 1000
    latency_ms: int = 0
    fail_next: dict[str, Any] = field(default_factory=lambda: {
        "count": 0, "status": 500, "method": None, "path": None})
    fail_next_jobs: dict[str, Any] = field(default_factory=lambda: {
        "count": 0, "code": "server_error",
        "message": "The job failed due to an internal error."})
    stall_next_jobs: int = 0
    active_job_limit: int | None = None


class State:
    """Resources, faults, counters and the request log of one emulator process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        """Forget everything except the command-line settings."""
        self.speed = self.settings.speed
        self.webhook_url = self.settings.webhook_url
        self.webhook_secret = self.settings.webhook_secret
        self.result_file_base64 = False
        self.files: dict[str, FileRecord] = {}
        self.uploads: dict[str, Upload] = {}
        self.jobs: dict[str, Job] = {}
        self.models: dict[str, FineTunedModel] = {}
        self.checkpoint_brains: dict[str, Any] = {}
        self.batches: dict[str, Batch] = {}
        self.faults = Faults()
        self.random = random.Random()
        self.requests: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.request_total = 0
        self.chat_completions: Counter[str] = Counter()
        self.embeddings: Counter[str] = Counter()
        self.batch_requests: Counter[str] = Counter()
        self.webhook_deliveries: deque[dict[str, Any]] = deque(maxlen=1000)
        self.due: list[tuple[float, int, str, str]] = []
        self.sequence = itertools.count()

    def schedule(self, at: float, kind: str, resource_id: str) -> None:
        """Ask for `kind` resource_id to be settled at real time `at`."""
        heapq.heappush(self.due, (at, next(self.sequence), kind, resource_id))

    def pop_due(self, at: float) -> list[tuple[str, str]]:
        """The resources whose scheduled time has come, in time order."""
        ready = []
        while self.due and self.due[0][0] <= at:
            _, _, kind, resource_id = heapq.heappop(self.due)
            ready.append((kind, resource_id))
        return ready

    def add_file(self, filename: str, purpose: str, content: bytes) -> FileRecord:
        created = int(now())
        expires = created + 30 * 86400 if purpose == "batch" else None
        record = FileRecord(new_id("file-", 22), filename, purpose, content, created, expires)
        self.files[record.id] = record
        return record


def of(request: Request) -> "State":
    """The emulator's state behind a request."""
    state: State = request.app.state.emulator
    return state


def page(ids: Sequence[str], after: str | None, limit: int) -> tuple[list[str], bool]:
    """The ids after the cursor (all of them without one) and whether more follow."""
    start = 0
    if after:
        try:
            start = list(ids).index(after) + 1
        except ValueError:
            start = len(ids)
    return list(ids[start:start + limit]), start + limit < len(ids)


def list_body(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """OpenAI's list envelope."""
    return {"object": "list", "data": data, "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None}
