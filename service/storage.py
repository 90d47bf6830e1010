"""Where dataset files live: a local directory, or an S3-compatible bucket. Always streamed."""

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Protocol

from service.settings import Settings


class Storage(Protocol):
    """Both backends: a write appears whole or not at all; a missing name is FileNotFoundError."""

    def writer(self, name: str) -> AbstractContextManager[IO[bytes]]: ...
    def reader(self, name: str) -> AbstractContextManager[IO[bytes]]: ...
    def local_path(self, name: str) -> AbstractContextManager[Path]: ...
    def delete(self, name: str) -> None: ...
    def is_reachable(self) -> bool: ...
    def remove_partial(self, idle_seconds: float) -> int: ...


class LocalStorage:
    """Files under one directory; a write appears whole (rename) or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.root / name

    @contextmanager
    def writer(self, name: str) -> Iterator[IO[bytes]]:
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())  # on disk before it is renamed in and acknowledged
            os.replace(temp, target)
        except BaseException:
            os.unlink(temp)
            raise

    @contextmanager
    def reader(self, name: str) -> Iterator[IO[bytes]]:
        with open(self.path(name), "rb") as file:
            yield file

    @contextmanager
    def local_path(self, name: str) -> Iterator[Path]:
        if not self.path(name).is_file():
            raise FileNotFoundError(f"No stored file {name!r}.")
        yield self.path(name)

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def is_reachable(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK)

    def remove_partial(self, idle_seconds: float) -> int:
        """Remove the partial files of writes unwritten for idle_seconds (a killed process's);
        answer how many. A live write touches its file with every chunk."""
        cutoff, removed = time.time() - idle_seconds, 0
        for part in self.root.rglob(".part-*"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
            except FileNotFoundError:
                pass  # finished or removed meanwhile
        return removed


class S3ExtraMissing(SystemExit):
    """FTM_STORAGE=s3 without boto3: start-up stops with one line saying how to install it."""

    def __init__(self) -> None:
        super().__init__("configuration error: FTM_STORAGE=s3 needs boto3, which is not installed; "
                         "install the s3 extra: pip install 'finetune-manager[s3]' "
                         "(or uv sync --extra s3)")


class S3Storage:
    """Objects in a bucket; local_path downloads to a temporary file for line-by-line work."""

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None) -> None:
        try:
            import boto3
        except ImportError:
            raise S3ExtraMissing() from None

        self.bucket, self.prefix = bucket, prefix
        self.client = boto3.client("s3", endpoint_url=endpoint_url)

    def key(self, name: str) -> str:
        return self.prefix + name

    @contextmanager
    def writer(self, name: str) -> Iterator[IO[bytes]]:
        with tempfile.TemporaryFile() as spool:
            yield spool
            spool.seek(0)
            self.client.upload_fileobj(spool, self.bucket, self.key(name))

    @contextmanager
    def reader(self, name: str) -> Iterator[IO[bytes]]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"No stored file {name!r}.") from None
        try:
            yield body
        finally:
            body.close()

    @contextmanager
    def local_path(self, name: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "file"
            with self.reader(name) as source, open(path, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            yield path

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(name))

    def is_reachable(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            return True
        except (BotoCoreError, ClientError):  # no endpoint, no bucket, no access: readyz says so
            return False

    def remove_partial(self, idle_seconds: float) -> int:
        return 0  # writes spool to anonymous temporary files: a dead process leaves nothing


def build_storage(settings: Settings) -> LocalStorage | S3Storage:
    if settings.storage == "s3":
        if not settings.s3_bucket:
            raise ValueError("FTM_S3_BUCKET is required when FTM_STORAGE=s3")
        return S3Storage(settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint_url)
    return LocalStorage(settings.data_dir / "files")
