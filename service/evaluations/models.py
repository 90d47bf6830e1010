"""Evaluations: the request body, the stored record (= the answer) and one prediction."""

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.evaluations.scoring import ScoringMode
from service.store.records import Record

MAX_MODELS = 4
MAX_CONCURRENCY = 64
MAX_INPUT_CHARS = 2000


class EvaluationStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL = frozenset({EvaluationStatus.succeeded, EvaluationStatus.failed,
                      EvaluationStatus.cancelled})


class RunOutcome(StrEnum):
    """How one run of either mode (online or batch) ends; the task decides what comes next."""

    finished = "finished"  # every answer is in: score them
    next_slice = "next_slice"  # online: the run's time slice ran out; the next one starts at once
    poll_later = "poll_later"  # batch: the provider's batches still run; look again later
    stopped = "stopped"  # cancelled, or the lease was lost: this run does nothing more


class EvaluationCreate(BaseModel):
    # The docstring is the schema's description in the committed spec: kept on one line.
    """The body of POST /v1/evaluations: `models`, or `job` (its fine-tuned model, then its base)."""  # noqa: E501

    # Either models or job, never both.
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"required": ["job"]},
        "then": {"properties": {"job": {"type": "string"}}, "not": {"required": ["models"]}},
        "else": {"properties": {"models": {"type": "array", "items": {"type": "string"}}},
                 "required": ["models"]},
        "examples": [{"dataset": "ds_9kQ2mVx0Lr4t", "job": "job_3Fh8sPq1Zc6y",
                      "scoring": "label", "max_examples": 200}]})
    dataset: str = Field(min_length=1)
    models: list[str] | None = Field(None, min_length=1, max_length=MAX_MODELS,
                                     json_schema_extra={"uniqueItems": True})
    job: str | None = Field(None, min_length=1)
    max_examples: int | None = Field(None, ge=1, description="the first N examples only")
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=65536)
    scoring: ScoringMode | None = Field(
        None, description="default: label when the dataset's answers are labels, else normalized")
    concurrency: int = Field(8, ge=1, le=MAX_CONCURRENCY, description="requests in flight")
    mode: Literal["online", "batch"] = "online"

    @model_validator(mode="after")
    def _one_source(self) -> "EvaluationCreate":
        if self.models is not None and self.job is not None:
            raise ValueError("send either models or job, not both")
        if self.models is None and self.job is None:
            raise ValueError("send models (1 to 4) or a job")
        if self.models is not None and len(set(self.models)) != len(self.models):
            raise ValueError("models must be distinct")
        return self


class EvaluationProgress(BaseModel):
    done: int = 0
    total: int | None = None


class ConfusionMatrix(BaseModel):
    labels: list[str]
    matrix: list[list[int]]


class LabelScores(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class ModelResult(BaseModel):
    accuracy: float
    macro_f1: float
    mcc: float
    per_label: dict[str, LabelScores]
    confusion_matrix: ConfusionMatrix
    invalid_outputs: int
    mean_latency_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


class Flips(BaseModel):
    fixed: int
    broken: int


class Comparison(BaseModel):
    best_model: str
    accuracy_delta: float
    mcnemar_p: float
    flips: Flips


class EvaluationError(BaseModel):
    code: str
    message: str


class BatchPart(BaseModel):
    """One provider batch: the requests of one model for one range of examples."""

    model: str
    first: int  # ordinal of its first example among the evaluated ones
    count: int
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str | None = None
    answered: int = 0
    collected: bool = False

    @property
    def key(self) -> str:
        return f"{self.model}@{self.first}"


class Evaluation(Record):
    kind: ClassVar[str] = "evaluation"
    internal: ClassVar[frozenset[str]] = frozenset({
        "project_id", "last_index", "batch_parts"})
    object: Literal["evaluation"] = "evaluation"
    project_id: str
    status: EvaluationStatus = EvaluationStatus.queued
    progress: EvaluationProgress = Field(default_factory=EvaluationProgress)
    results: dict[str, ModelResult] | None = None
    comparison: Comparison | None = None
    dataset: str
    models: list[str]
    job: str | None = None
    scoring: ScoringMode
    mode: Literal["online", "batch"]
    max_examples: int | None = None
    temperature: float
    max_tokens: int | None = None
    concurrency: int
    skipped_examples: int | None = Field(
        None, description="examples without a final assistant message, left out")
    error: EvaluationError | None = None
    updated_at: int
    finished_at: int | None = None
    last_index: int | None = None
    batch_parts: list[BatchPart] = Field(default_factory=list)

    @property
    def is_prepared(self) -> bool:
        return self.progress.total is not None


class InputMessage(BaseModel):
    role: str
    content: str | None = Field(description=(
        f"The text sent (other content as JSON), cut at {MAX_INPUT_CHARS} characters "
        "(then ending with …)."))


class Prediction(BaseModel):
    """One model's answer to one example, scored."""

    id: str = Field(description="<model>:<index>, the cursor for `after`")
    object: Literal["evaluation.prediction"] = "evaluation.prediction"
    index: int = Field(description="the example's position among the dataset's non-blank lines")
    model: str
    expected: str
    output: str | None
    predicted_label: str | None
    correct: bool
    invalid: bool
    latency_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    error: EvaluationError | None
    input: list[InputMessage] | None = Field(default=None, description=(
        "The messages sent for this example (its lines before the final assistant answer); "
        "null for an evaluation run before inputs were kept."))


def prediction_field(model: str, index: int) -> str:
    """The predictions hash field (and batch custom_id) of one model's answer to one example."""
    return f"{model}:{index}"


def parse_field(field: str) -> tuple[str, int]:
    """(model, index) of a prediction field; model names contain colons, indexes do not."""
    model, _, index = field.rpartition(":")
    if not model or not index.isdigit():
        raise ValueError(f"{field!r} is not <model>:<index>")
    return model, int(index)

