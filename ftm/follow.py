"""What ftm shows while it waits: an upload's bytes, a job's steps."""

import io
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ftm.client import Client

LARGE_UPLOAD_BYTES = 1 << 20
err = Console(stderr=True)


class ReadProgress(io.RawIOBase):
    """A binary file whose reads advance a progress bar; httpx streams it in chunks."""

    def __init__(self, file: io.BufferedReader, progress: Progress, task: TaskID) -> None:
        self.file, self.progress, self.task = file, progress, task

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.progress.advance(self.task, len(chunk))
        return chunk

    def fileno(self) -> int:  # httpx takes the Content-Length from it
        return self.file.fileno()

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()


def upload_with_progress(client: Client, path: Path, name: str | None, format: str,
                         idempotency_key: str | None, show: bool) -> Any:
    size = path.stat().st_size
    bar = show and size >= LARGE_UPLOAD_BYTES and sys.stderr.isatty()
    columns = (TextColumn("uploading {task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with open(path, "rb") as file, Progress(*columns, console=err, disable=not bar,
                                            transient=True) as progress:
        task = progress.add_task(path.name, total=size)
        reader = ReadProgress(file, progress, task)
        # httpx only reads, seeks and asks the size; typeshed does not count RawIOBase as IO[bytes].
        return client.upload_dataset(reader, path.name, name, format,  # type: ignore[arg-type]
                                     idempotency_key)


def follow_job(client: Client, job_id: str, show: bool) -> Any:
    """Follow the job's event stream to its end; answer the job as it ended."""
    columns = (TextColumn("{task.description:<16}"), BarColumn(),
               TextColumn("step {task.completed:.0f}/{task.fields[total_text]}"),
               TextColumn("{task.fields[losses]}"), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=err, disable=not show) as progress:
        job = client.get_job(job_id)
        task = progress.add_task(job["status"], total=None, total_text="?", losses="")
        for kind, event in client.job_events(job_id):
            if not isinstance(event, dict):
                continue
            data = event.get("data") or {}
            if kind == "status":
                progress.update(task, description=data.get("to", ""))
                progress.console.print(f"[dim]{event.get('message', '')}[/dim]")
            elif kind == "metrics" and data.get("step") is not None:
                total = data.get("total_steps")
                progress.update(task, completed=data["step"], total=total,
                                total_text=total or "?", losses=losses(data))
            elif kind == "end":
                progress.update(task, description=event.get("status", ""))
    return client.get_job(job_id)


def losses(data: dict[str, Any]) -> str:
    parts = [f"{name} {data[name]:.4f}" for name in ("train_loss", "valid_loss")
             if isinstance(data.get(name), (int, float))]
    return "  ".join(parts)
