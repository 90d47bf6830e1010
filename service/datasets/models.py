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


class ReportSample(BaseModel):
    line: int | None = Field(description="1-based line; null for a dataset-level finding.")
    code: str
    message: str
    content: str | None = Field(
        default=None, description="The line's text, at most 500 characters (cut ones end with "
        "…), undecodable bytes replaced; null for a dataset-level finding or a line over the "
        "size limit.")


class Findings(BaseModel):
    counts: dict[str, int] = Field(description="Occurrences of each check's code.")
    samples: list[ReportSample]


class Distribution(BaseModel):
    min: int | None
    max: int | None
    mean: float | None
    median: float | None
    p5: float | None
    p95: float | None
    sum: int


class HistogramBucket(BaseModel):
    ge: int = Field(description="Smallest token count of the bucket (inclusive).")
    le: int = Field(description="Largest token count of the bucket (inclusive); buckets are "
                    "linear, of a width of 1, 2 or 5 x 10^k, at most 20 of them.")
    count: int = Field(description="Examples in the bucket (not cumulative).")


class TokenStats(BaseModel):
    total: Distribution
    assistant: Distribution
    messages_per_example: Distribution
    histogram: list[HistogramBucket]


class Labels(BaseModel):
    distinct: int
    counts: dict[str, int]


class TrainingEstimate(BaseModel):
    n_epochs: int
    tokens_per_epoch: int
    trained_tokens: int
    price_per_million_usd: float
    cost_usd: float


class DatasetReport(BaseModel):
    """The validation, token and cost report of a dataset for one model."""

    dataset_id: str | None
    format: str
    model: str
    encoding: str
    examples: int
    valid_examples: int
    blank_lines: int = 0
    errors: Findings
    warnings: Findings
    tokens: TokenStats
    labels: Labels | None
    estimate: TrainingEstimate


class DatasetRow(BaseModel):
    """One parsed row: a JSON line's value, a CSV record, or why the line does not parse."""

    row: int = Field(description="1-based number among the non-blank rows.")
    data: Any = None
    error: str | None = None


class DatasetRows(BaseModel):
    object: Literal["list"] = "list"
    data: list[DatasetRow]
    offset: int
    limit: int
    total: int | None
