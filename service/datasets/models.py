from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

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


class Column(BaseModel):
    name: str
    samples: list[str]
    distinct: int


class Conversion(BaseModel):
    converted: int
    skipped: list[dict[str, Any]]
    skipped_count: int = 0


class Dataset(Record):
    kind: ClassVar[str] = "dataset"
    object: Literal["dataset"] = "dataset"
    project_id: str
    name: str
    filename: str
    format: DatasetFormat
    status: DatasetStatus
    bytes: int
    sha256: str
    rows: int | None = None
    columns: list[Column] | None = None
    parent_id: str | None = None
    derived_by: str | None = None
    conversion: Conversion | None = None
    error: str | None = None
    provider_files: dict[str, str] = {}
    updated_at: int | None = None
