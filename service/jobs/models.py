from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.errors import ConflictingHyperparameters
from service.store.records import Record

AutoOr = Literal["auto"] | float


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


TERMINAL = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled})
LAUNCHED = frozenset({JobStatus.validating_files, JobStatus.queued, JobStatus.running,
                      JobStatus.paused})


class Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_epochs: Literal["auto"] | int | None = Field(None)
    batch_size: Literal["auto"] | int | None = None
    learning_rate_multiplier: AutoOr | None = None
    beta: AutoOr | None = None

    @field_validator("n_epochs")
    @classmethod
    def _epochs(cls, value: object) -> object:
        if isinstance(value, int) and not 1 <= value <= 50:
            raise ValueError("n_epochs must be between 1 and 50")
        return value

    @field_validator("batch_size")
    @classmethod
    def _batch(cls, value: object) -> object:
        if isinstance(value, int) and not 1 <= value <= 256:
            raise ValueError("batch_size must be between 1 and 256")
        return value

    @field_validator("learning_rate_multiplier", "beta")
    @classmethod
    def _positive(cls, value: object) -> object:
        if isinstance(value, float | int) and value <= 0:
            raise ValueError("must be greater than 0")
        return value


class MethodParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)


class Method(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["supervised", "dpo"] = "supervised"
    supervised: MethodParams | None = None
    dpo: MethodParams | None = None

    @model_validator(mode="after")
    def _match_type(self) -> "Method":
        if self.type == "supervised" and self.dpo is not None:
            raise ValueError("method.dpo given with type 'supervised'")
        if self.type == "dpo" and self.supervised is not None:
            raise ValueError("method.supervised given with type 'dpo'")
        if self.type == "supervised" and self.supervised and self.supervised.hyperparameters.beta:
            raise ValueError("beta applies to dpo only")
        return self

    @property
    def hyperparameters(self) -> Hyperparameters:
        params = self.supervised if self.type == "supervised" else self.dpo
        return params.hyperparameters if params else Hyperparameters()


class JobCreate(BaseModel):
    """The body of POST /v1/jobs."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1)
    training_dataset: str
    validation_dataset: str | None = None
    method: Method | None = None
    hyperparameters: Hyperparameters | None = None
    suffix: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_\-.]*$")
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    metadata: dict[str, str] = Field(default_factory=dict)
    max_cost_usd: float | None = Field(None, gt=0)
    webhook_url: str | None = Field(None, max_length=2048,
                                    description="a public http(s) URL; checked by the service")
    dry_run: bool = False

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 16:
            raise ValueError("at most 16 metadata keys")
        for key, text in value.items():
            if len(key) > 64:
                raise ValueError(f"metadata key {key[:20]!r}… is over 64 characters")
            if len(text) > 512:
                raise ValueError(f"metadata value of {key!r} is over 512 characters")
        return value

    def resolved_method(self) -> Method:
        """OpenAI's method form, from `method` or the legacy top-level hyperparameters."""
        if self.method is not None and self.hyperparameters is not None:
            raise ConflictingHyperparameters(
                "Send hyperparameters either in method or at the top level, not both.",
                errors=[{"field": "body.hyperparameters", "message": "conflicts with method"}])
        if self.method is not None:
            return self.method
        return Method(type="supervised",
                      supervised=MethodParams(hyperparameters=self.hyperparameters
                                              or Hyperparameters()))


class ProviderRef(BaseModel):
    name: str = "openai"
    job_id: str | None = None
    training_file: str | None = None
    validation_file: str | None = None
    result_files: list[str] = []


class Progress(BaseModel):
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
        "sync_errors"})
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
    progress: Progress = Field(default_factory=Progress)
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


class DryRun(BaseModel):
    object: Literal["job.dry_run"] = "job.dry_run"
    estimate: Estimate
    report: dict[str, Any]
    provider_request: dict[str, Any]


class JobImport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_job_id: str = Field(pattern=r"^ftjob-[A-Za-z0-9]+$")
