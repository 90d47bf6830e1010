"""What the service asks of a fine-tuning provider, in its own words.

Domains and routes reach the provider only through these methods (via `ctx.provider`); the
implementation behind them owns the SDK, the retry/rate-limit policy and the mapping of the
provider's errors to the service's own. The answers are still the OpenAI SDK's pydantic types
(`FineTuningJob`, `FileObject`, `Batch`…): another provider would build the same shapes.
Lists that page come back as lazy iterators: a caller that stops early asks for no more pages.
"""

from collections.abc import Iterator, Mapping
from typing import IO, Any, Protocol

import httpx2

from service.provider.types import (
    Batch,
    ChatCompletion,
    FileObject,
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobEvent,
    Upload,
)


class FileContent(Protocol):
    """A provider file's bytes, read as a whole or line by line."""

    @property
    def text(self) -> str: ...

    def iter_lines(self) -> Iterator[str]: ...


class ChatSession(Protocol):
    """Chat completions from one event loop, on a connection pool of its own."""

    async def complete(self, request: dict[str, Any]) -> tuple[ChatCompletion, float | None]:
        """The completion and the milliseconds its answered attempt took (not the waits for
        the rate cap, not the failed attempts)."""
        ...

    async def close(self) -> None: ...


class Provider(Protocol):
    """A fine-tuning provider; every method raises the service's `ProviderError`s."""

    name: str

    def prepare(self) -> None:
        """Build what every request needs, once, before the worker forks its tasks."""
        ...

    # Files
    def upload_file(self, name: str, file: IO[bytes], purpose: str) -> FileObject: ...

    def upload_in_parts(self, name: str, file: IO[bytes], size: int, purpose: str) -> Upload:
        """A file too large for one request, sent in parts; the finished upload carries the
        file, or none when the provider could not complete it."""
        ...

    def find_file(self, purpose: str, name: str, size: int) -> FileObject | None:
        """A usable file of that name and size: one an interrupted run uploaded but did not
        record."""
        ...

    def retrieve_file(self, file_id: str) -> FileObject: ...

    def delete_file(self, file_id: str) -> None: ...

    def file_content(self, file_id: str) -> FileContent: ...

    # Fine-tuning jobs
    def create_job(self, request: Mapping[str, Any]) -> FineTuningJob: ...

    def find_job(self, tag: Mapping[str, str]) -> FineTuningJob | None:
        """The job created with this metadata, if there is one."""
        ...

    def retrieve_job(self, job_id: str) -> FineTuningJob: ...

    def list_jobs(self, page_size: int = 100) -> Iterator[FineTuningJob]:
        """Every job, newest first."""
        ...

    def cancel_job(self, job_id: str) -> FineTuningJob: ...

    def pause_job(self, job_id: str) -> FineTuningJob: ...

    def resume_job(self, job_id: str) -> FineTuningJob: ...

    def list_events(self, job_id: str, page_size: int = 100) -> Iterator[FineTuningJobEvent]:
        """The job's events, newest first."""
        ...

    def list_checkpoints(self, job_id: str) -> list[FineTuningJobCheckpoint]:
        """The job's latest checkpoints (up to 100)."""
        ...

    # Batches
    def create_batch(self, input_file_id: str, endpoint: str, metadata: Mapping[str, str],
                     completion_window: str = "24h") -> Batch: ...

    def retrieve_batch(self, batch_id: str) -> Batch: ...

    def cancel_batch(self, batch_id: str) -> Batch: ...

    def list_batches(self, page_size: int = 100) -> Iterator[Batch]:
        """Every batch, newest first."""
        ...

    # Models
    def delete_model(self, model: str) -> None: ...

    # Inference, for the event loop
    async def relay(self, path: str, payload: dict[str, Any], *,
                    stream: bool = False) -> httpx2.Response:
        """The provider's 2xx answer to a raw JSON request, its body still unread when stream
        is set: any parameter passes, and the answer reaches the client unchanged."""
        ...

    def open_chat(self) -> ChatSession:
        """A chat session for the running event loop; close it when done."""
        ...

    # Webhooks
    def unwrap_webhook(self, body: bytes, headers: Mapping[str, str], secret: str) -> Any:
        """The verified event of a webhook; `InvalidWebhookSignature` when it does not verify."""
        ...
