from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.datasets.models import DatasetReport
from service.errors import ConflictingHyperparameters
from service.store.records import Record
from service.webhooks.models import WEBHOOK_URL_PATTERN


class JobStatus(StrEnum):
    pending = "pending"
    preparing = "preparing"
    validating_files = "validating_files"
    queued = "queued"
    running = "running"
    paused = "paused"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class JobAction(StrEnum):
    """What a client may ask of a job at the provider: POST /v1/jobs/{id}/<action>."""

    cancel = "cancel"
    pause = "pause"
    resume = "resume"


TERMINAL = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled})


Epochs = Literal["auto"] | Annotated[int, Field(ge=1, le=50)]
BatchSize = Literal["auto"] | Annotated[int, Field(ge=1, le=256)]
Positive = Literal["auto"] | Annotated[float, Field(gt=0)]


def without_null(data: Any, key: str) -> Any:
    """Records written before methods were split kept the other method's keys as null."""
    if isinstance(data, dict) and key in data and data[key] is None:
        return {name: value for name, value in data.items() if name != key}
    return data


class Hyperparameters(BaseModel):
    """A supervised job's hyperparameters: "auto" or a number each."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _stored(cls, data: Any) -> Any:
        return data if cls is not Hyperparameters else without_null(data, "beta")
    n_epochs: Epochs | None = None
    batch_size: BatchSize | None = None
    learning_rate_multiplier: Positive | None = None


class DpoHyperparameters(Hyperparameters):
    """A DPO job's hyperparameters: the supervised ones plus beta."""

    beta: Positive | None = None


class SupervisedParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)


class DpoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hyperparameters: DpoHyperparameters = Field(default_factory=DpoHyperparameters)


class SupervisedMethod(BaseModel):
    """OpenAI's supervised fine-tuning method."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["supervised"]
    supervised: SupervisedParams | None = None

    @model_validator(mode="before")
    @classmethod
    def _stored(cls, data: Any) -> Any:
        return without_null(data, "dpo")

    @property
    def hyperparameters(self) -> Hyperparameters:
        return self.supervised.hyperparameters if self.supervised else Hyperparameters()


class DpoMethod(BaseModel):
    """OpenAI's direct preference optimisation method (preference datasets)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["dpo"]
    dpo: DpoParams | None = None

    @model_validator(mode="before")
    @classmethod
    def _stored(cls, data: Any) -> Any:
        return without_null(data, "supervised")

    @property
    def hyperparameters(self) -> DpoHyperparameters:
        return self.dpo.hyperparameters if self.dpo else DpoHyperparameters()


Method = Annotated[SupervisedMethod | DpoMethod, Field(discriminator="type")]


Metadata = Annotated[dict[Annotated[str, Field(max_length=64)],
                          Annotated[str, Field(max_length=512)]],
                     Field(max_length=16, description="At most 16 keys of at most 64 characters, "
                                                      "values of at most 512.")]


class JobCreate(BaseModel):
    """The body of POST /v1/jobs."""

    # Hyperparameters go either in method or at the top level (legacy), never both.
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "not": {"required": ["method", "hyperparameters"]},
        "examples": [{"model": "gpt-4o-mini-2024-07-18", "training_dataset": "ds_5TdQ2xk9aPz1",
                      "validation_dataset": "ds_7Hc3bW0qLm8e",
                      "method": {"type": "supervised",
                                 "supervised": {"hyperparameters": {"n_epochs": 3}}},
                      "suffix": "reflection", "metadata": {"team": "research"},
                      "max_cost_usd": 5.0}]})
    model: str = Field(min_length=1)
    training_dataset: str
    validation_dataset: str | None = None
    method: Method | None = None
    hyperparameters: Hyperparameters | None = None
    suffix: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_\-.]*$")
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    metadata: Metadata = Field(default_factory=dict)
    max_cost_usd: float | None = Field(None, gt=0)
    webhook_url: str | None = Field(None, max_length=2048,
                                    description="a public http(s) URL; checked by the service",
                                    json_schema_extra={"pattern": WEBHOOK_URL_PATTERN})
    dry_run: bool = False

    def resolved_method(self) -> Method:
        """OpenAI's method form, from `method` or the legacy top-level hyperparameters."""
        if self.method is not None and self.hyperparameters is not None:
            raise ConflictingHyperparameters(
                "Send hyperparameters either in method or at the top level, not both.",
                errors=[{"field": "body.hyperparameters", "message": "conflicts with method"}])
        if self.method is not None:
            return self.method
        return SupervisedMethod(type="supervised", supervised=SupervisedParams(
            hyperparameters=self.hyperparameters or Hyperparameters()))


class ProviderRef(BaseModel):
    name: str = "openai"
    job_id: str | None = None
    training_file: str | None = None
    validation_file: str | None = None
    result_files: list[str] = []


class JobProgress(BaseModel):
    step: int | None = None
    total_steps: int | None = None
    percent: float | None = None
    train_loss: float | None = None
    valid_loss: float | None = None


class Estimate(BaseModel):
    n_epochs: int
    billing_tokens: int
    cost_usd: float


class JobError(BaseModel):
    code: str | None = None
    message: str
    param: str | None = None


class Job(Record):
    kind: ClassVar[str] = "job"
    internal: ClassVar[frozenset[str]] = frozenset({
        "webhook_url", "imported", "cancel_requested", "last_activity_at", "stalled",
        "sync_errors", "provider_missing_since"})
    object: Literal["job"] = "job"
    project_id: str
    status: JobStatus = JobStatus.pending
    pending_reason: Literal["provider_capacity"] | None = None
    model: str
    training_dataset: str
    validation_dataset: str | None = None
    method: Method
    suffix: str | None = None
    seed: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    provider: ProviderRef = Field(default_factory=ProviderRef)
    fine_tuned_model: str | None = None
    progress: JobProgress = Field(default_factory=JobProgress)
    trained_tokens: int | None = None
    estimate: Estimate | None = None
    cost_usd: float | None = None
    error: JobError | None = None
    updated_at: int
    finished_at: int | None = None
    estimated_finish: int | None = None
    last_synced_at: int | None = None
    webhook_url: str | None = None
    hyperparameters: dict[str, Any] | None = None
    imported: bool = False
    cancel_requested: bool = False
    last_activity_at: int | None = None
    stalled: bool = False
    sync_errors: int = 0
    # When the provider first answered 404 for the provider job; cleared by a good sync.
    provider_missing_since: int | None = None


class DryRun(BaseModel):
    object: Literal["job.dry_run"] = "job.dry_run"
    estimate: Estimate
    report: DatasetReport
    provider_request: dict[str, Any] = Field(description="The exact body the provider would get.")


class JobImport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_job_id: str = Field(pattern=r"^ftjob-[A-Za-z0-9]+$")


class JobEvent(BaseModel):
    """One entry of a job's history, oldest first."""

    id: str = Field(description="Opaque; increases within a job.")
    object: Literal["job.event"] = "job.event"
    created_at: int
    level: Literal["info", "warn", "error"]
    type: Literal["status", "message", "metrics", "checkpoint"]
    message: str
    data: dict[str, Any] = Field(description="`status`: {from, to}; `metrics`: OpenAI's metric "
                                             "fields; `checkpoint`: the checkpoint.")
    source: Literal["service", "openai"]


class MetricsRow(BaseModel):
    step: int
    train_loss: float | None = None
    train_mean_token_accuracy: float | None = None
    valid_loss: float | None = None
    valid_mean_token_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_mean_token_accuracy: float | None = None


class JobMetrics(BaseModel):
    """The loss curve, by step."""

    object: Literal["list"] = "list"
    data: list[MetricsRow]


class Checkpoint(BaseModel):
    id: str
    step_number: int
    fine_tuned_model_checkpoint: str
    metrics: dict[str, float]
    created_at: int
