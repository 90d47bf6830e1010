"""The OpenAI implementation of `Provider`: the official SDK, every request through the
gateway's policy (retries, the shared rate cap, metrics and spans, errors mapped)."""

import asyncio
import threading
import time
from collections.abc import Iterator, Mapping
from typing import IO, Any
from weakref import WeakKeyDictionary

import httpx2
import openai
import redis
from openai.types import Batch, FileObject, Upload
from openai.types.chat import ChatCompletion
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint

from service.errors import InvalidWebhookSignature
from service.provider.base import FileContent
from service.provider.gateway import Gateway
from service.settings import Settings

CHECKPOINTS_LISTED = 100


class OpenAIChat:
    """Chat completions on an async client of its own (bound to the loop that uses it)."""

    def __init__(self, gateway: Gateway, client: openai.AsyncOpenAI) -> None:
        self.gateway, self.client = gateway, client

    async def complete(self, request: dict[str, Any]) -> tuple[ChatCompletion, float | None]:
        timing: dict[str, float] = {}

        async def create(**request: Any) -> ChatCompletion:
            # Only the answered attempt is timed: not rate-cap waits, not failed attempts.
            started = time.perf_counter()
            completion: ChatCompletion = await self.client.chat.completions.create(**request)
            timing["ms"] = (time.perf_counter() - started) * 1000
            return completion

        completion = await self.gateway.acall(create, **request)
        return completion, timing.get("ms")

    async def close(self) -> None:
        await self.client.close()


class OpenAIProvider:
    name = "openai"

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "missing"
        self._options: dict[str, Any] = {
            "api_key": key, "base_url": settings.openai_base_url,
            "organization": settings.openai_org_id,
            "timeout": settings.openai_timeout_seconds, "max_retries": 0}
        self.client = openai.OpenAI(**self._options)
        self.gateway = Gateway(settings, client)
        self.part_bytes = settings.openai_upload_part_bytes
        self._loop_clients: WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            WeakKeyDictionary())
        self._loop_clients_lock = threading.Lock()

    def prepare(self) -> None:
        # Touching the resources loads the SDK's lazy modules.
        _ = self.client.fine_tuning.jobs.checkpoints, self.client.files

    def new_async_client(self) -> openai.AsyncOpenAI:
        """A client for the running event loop (httpx async clients are bound to one loop)."""
        return openai.AsyncOpenAI(**self._options)

    def loop_client(self) -> openai.AsyncOpenAI:
        """The async client of the running loop, built once per loop: building one takes
        ~20 ms (TLS set-up) of the loop's time."""
        loop = asyncio.get_running_loop()
        with self._loop_clients_lock:
            client = self._loop_clients.get(loop)
            if client is None:
                client = self._loop_clients[loop] = self.new_async_client()
            return client

    # Files

    def upload_file(self, name: str, file: IO[bytes], purpose: str) -> FileObject:
        return self.gateway.call(self.client.files.create, file=(name, file),
                                 purpose=purpose)

    def upload_in_parts(self, name: str, file: IO[bytes], size: int, purpose: str) -> Upload:
        """OpenAI's Uploads API: for files too large for one request."""
        uploads = self.client.uploads
        started = self.gateway.call(uploads.create, bytes=size, filename=name,
                                    mime_type="text/jsonl", purpose=purpose)
        part_ids: list[str] = []
        while chunk := file.read(self.part_bytes):
            part = self.gateway.call(uploads.parts.create, started.id, data=chunk)
            part_ids.append(part.id)
        return self.gateway.call(uploads.complete, started.id, part_ids=part_ids)

    def find_file(self, purpose: str, name: str, size: int) -> FileObject | None:
        for file in self.gateway.each(self.client.files.list, purpose=purpose, limit=10000):
            if file.filename == name and file.bytes == size and file.status != "error":
                return file
        return None

    def retrieve_file(self, file_id: str) -> FileObject:
        return self.gateway.call(self.client.files.retrieve, file_id)

    def delete_file(self, file_id: str) -> None:
        self.gateway.call(self.client.files.delete, file_id)

    def file_content(self, file_id: str) -> FileContent:
        return self.gateway.call(self.client.files.content, file_id)

    # Fine-tuning jobs

    def create_job(self, request: Mapping[str, Any]) -> FineTuningJob:
        return self.gateway.call(self.client.fine_tuning.jobs.create, **request)

    def find_job(self, tag: Mapping[str, str]) -> FineTuningJob | None:
        found = self.gateway.call(self.client.fine_tuning.jobs.list, metadata=dict(tag), limit=1)
        return found.data[0] if found.data else None

    def retrieve_job(self, job_id: str) -> FineTuningJob:
        return self.gateway.call(self.client.fine_tuning.jobs.retrieve, job_id)

    def list_jobs(self, page_size: int = 100) -> Iterator[FineTuningJob]:
        return self.gateway.each(self.client.fine_tuning.jobs.list, limit=page_size)

    def cancel_job(self, job_id: str) -> FineTuningJob:
        return self.gateway.call(self.client.fine_tuning.jobs.cancel, job_id)

    def pause_job(self, job_id: str) -> FineTuningJob:
        return self.gateway.call(self.client.fine_tuning.jobs.pause, job_id)

    def resume_job(self, job_id: str) -> FineTuningJob:
        return self.gateway.call(self.client.fine_tuning.jobs.resume, job_id)

    def list_events(self, job_id: str, page_size: int = 100) -> Iterator[FineTuningJobEvent]:
        return self.gateway.each(self.client.fine_tuning.jobs.list_events, job_id,
                                 limit=page_size)

    def list_checkpoints(self, job_id: str) -> list[FineTuningJobCheckpoint]:
        page = self.gateway.call(self.client.fine_tuning.jobs.checkpoints.list, job_id,
                                 limit=CHECKPOINTS_LISTED)
        return page.data

    # Batches

    def create_batch(self, input_file_id: str, endpoint: str, metadata: Mapping[str, str],
                     completion_window: str = "24h") -> Batch:
        return self.gateway.call(self.client.batches.create, input_file_id=input_file_id,
                                 endpoint=endpoint, completion_window=completion_window,
                                 metadata=dict(metadata))

    def retrieve_batch(self, batch_id: str) -> Batch:
        return self.gateway.call(self.client.batches.retrieve, batch_id)

    def cancel_batch(self, batch_id: str) -> Batch:
        return self.gateway.call(self.client.batches.cancel, batch_id)

    def list_batches(self, page_size: int = 100) -> Iterator[Batch]:
        return self.gateway.each(self.client.batches.list, limit=page_size)

    # Models

    def delete_model(self, model: str) -> None:
        self.gateway.call(self.client.models.delete, model)

    # Inference, for the event loop

    async def relay(self, path: str, payload: dict[str, Any], *,
                    stream: bool = False) -> httpx2.Response:
        client = self.loop_client()
        return await self.gateway.acall(client.post, path, cast_to=httpx2.Response,
                                        body=payload, stream=stream)

    def open_chat(self) -> OpenAIChat:
        return OpenAIChat(self.gateway, self.new_async_client())

    # Webhooks

    def unwrap_webhook(self, body: bytes, headers: Mapping[str, str], secret: str) -> Any:
        try:
            return self.client.webhooks.unwrap(body, dict(headers), secret=secret)
        except (openai.InvalidWebhookSignatureError, ValueError) as exc:
            # ValueError: a missing webhook-* header, or a body that is not JSON
            raise InvalidWebhookSignature(
                f"The webhook could not be verified: {exc}") from None
