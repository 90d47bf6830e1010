from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from service.datasets.csvfile import ColumnSummary
from service.store.records import Record


class DatasetFormat(StrEnum):
    chat = "chat"
    prompt_completion = "prompt_completion"
    preference = "preference"
    csv = "csv"


class DatasetStatus(StrEnum):
    processing = "processing"
    ready = "ready"
    invalid = "invalid"


class Conversion(BaseModel):
    converted: int
    skipped: list[dict[str, Any]]
    skipped_count: int = 0


class Dataset(Record):
    kind: ClassVar[str] = "dataset"
    internal: ClassVar[frozenset[str]] = frozenset({"label_hint", "format_declared"})
    object: Literal["dataset"] = "dataset"
    project_id: str
    name: str
    filename: str
    format: DatasetFormat
    status: DatasetStatus
    bytes: int
    sha256: str
    rows: int | None = None
    columns: list[ColumnSummary] | None = None
    parent_id: str | None = None
    derived_by: str | None = None
    conversion: Conversion | None = None
    error: str | None = None
    provider_files: dict[str, str] = Field({})
    label_hint: list[str] | None = None
    format_declared: bool = False  # the uploader named the format: validation keeps it
    updated_at: int | None = None

    @property
    def storage_name(self) -> str:
        return storage_name(self.id)


def storage_name(dataset_id: str) -> str:
    """Where a dataset's file lives in storage."""
    return f"datasets/{dataset_id}"


class SplitResult(BaseModel):
    parent_id: str
    splits: dict[str, Dataset]
    labels: dict[str, dict[str, int] | None]
