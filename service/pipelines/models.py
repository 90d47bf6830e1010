"""Pipelines: the request (convert → split → job → evaluate in one call) and the stored record."""

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator
from pydantic.json_schema import SkipJsonSchema

from service.datasets.convert import ConvertRequest
from service.datasets.split import SplitRequest
from service.evaluations.models import EvaluationCreate
from service.jobs.models import JobCreate
from service.store.records import Record

JOB_TAG = "pipeline_id"  # the metadata key naming the pipeline that created a job


class StepName(StrEnum):
    convert = "convert"
    split = "split"  # type: ignore[assignment]  # the API's step name; hides str.split
    job = "job"
    evaluate = "evaluate"


class StepStatus(StrEnum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    skipped = "skipped"


class PipelineStatus(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL = frozenset({PipelineStatus.succeeded, PipelineStatus.failed, PipelineStatus.cancelled})
STEP_DONE = frozenset({StepStatus.succeeded, StepStatus.skipped})


class PipelineJob(JobCreate):
    """POST /v1/jobs's body without the datasets, which the pipeline supplies, or dry_run."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "not": {"required": ["method", "hyperparameters"]}})

    training_dataset: SkipJsonSchema[None] = None  # type: ignore[assignment]
    validation_dataset: SkipJsonSchema[None] = None
    dry_run: SkipJsonSchema[Literal[False]] = False
    metadata: dict[str, str] = Field(
        default_factory=dict, json_schema_extra={
            "maxProperties": 15, "propertyNames": {"maxLength": 64, "not": {"const": JOB_TAG}},
            "additionalProperties": {"type": "string", "maxLength": 512}},
        description=f"As a job's, but at most 15 keys: the pipeline adds {JOB_TAG!r}.")

    @model_validator(mode="before")
    @classmethod
    def _no_datasets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [name for name in ("training_dataset", "validation_dataset", "dry_run")
                     if name in data]
            if given:
                raise ValueError(f"{', '.join(given)}: not used in a pipeline (its split or "
                                 "dataset gives the job its datasets)")
            if JOB_TAG in (data.get("metadata") or {}):
                raise ValueError(f"metadata key {JOB_TAG!r} is set by the pipeline")
            if isinstance(data.get("metadata"), dict) and len(data["metadata"]) > 15:
                raise ValueError(f"at most 15 metadata keys in a pipeline (it adds {JOB_TAG!r})")
        return data

    def job_create(self, training: str, validation: str | None, pipeline_id: str) -> JobCreate:
        """The job's body, tagged with the pipeline's id."""
        fields = self.model_dump(exclude_unset=True, exclude={"training_dataset",
                                                              "validation_dataset", "dry_run"})
        fields["metadata"] = {**self.metadata, JOB_TAG: pipeline_id}
        return JobCreate.model_validate({**fields, "training_dataset": training,
                                         "validation_dataset": validation})


class PipelineEvaluate(EvaluationCreate):
    """POST /v1/evaluations's body without dataset or models: the split's test part is evaluated,
    the job's fine-tuned model against its base model."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={})

    dataset: SkipJsonSchema[None] = None  # type: ignore[assignment]
    models: SkipJsonSchema[None] = None
    job: SkipJsonSchema[None] = None

    @model_validator(mode="before")
    @classmethod
    def _no_sources(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [name for name in ("dataset", "models", "job") if name in data]
            if given:
                raise ValueError(f"{', '.join(given)}: not used in a pipeline (it evaluates its "
                                 "job's model and base model on its split's test part)")
        return data

    @model_validator(mode="after")
    def _one_source(self) -> "PipelineEvaluate":
        return self  # the pipeline gives the source; replaces EvaluationCreate's check

    def evaluation_create(self, dataset: str, job: str) -> EvaluationCreate:
        fields = self.model_dump(exclude_unset=True, exclude={"dataset", "models", "job"})
        return EvaluationCreate.model_validate({**fields, "dataset": dataset, "job": job})


class PipelineCreate(BaseModel):
    """The body of POST /v1/pipelines: each given step feeds the next."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "dataset": "ds_1aB2cD3eF4gH",
        "split": {"strategy": "stratified", "fractions": {"train": 0.8, "test": 0.2}, "seed": 1},
        "job": {"model": "gpt-4o-mini-2024-07-18", "suffix": "reflection"},
        "evaluate": {"scoring": "label", "max_examples": 100}}]})
    dataset: str = Field(min_length=1)
    convert: ConvertRequest | None = None
    split: SplitRequest | None = None
    job: PipelineJob
    evaluate: PipelineEvaluate | None = None


class StepError(BaseModel):
    code: str
    message: str


class Step(BaseModel):
    name: StepName
    status: StepStatus = StepStatus.pending
    resource_id: str | None = Field(None, description="what the step made: the converted "
                                    "dataset, the split's train part, the job, the evaluation")
    parts: dict[str, str] | None = Field(None, description="split: dataset id of each part")
    error: StepError | None = None
    started_at: int | None = None
    finished_at: int | None = None


class Pipeline(Record):
    kind: ClassVar[str] = "pipeline"
    internal: ClassVar[frozenset[str]] = frozenset({"project_id", "request"})
    object: Literal["pipeline"] = "pipeline"
    project_id: str
    status: PipelineStatus = PipelineStatus.running
    dataset: str
    steps: list[Step] = Field(description="the requested steps in order; null ones are left out")
    updated_at: int
    finished_at: int | None = None
    request: PipelineCreate

    @field_serializer("request")
    def _as_sent(self, request: PipelineCreate) -> dict[str, Any]:
        # Only the fields sent: read back, the request validates exactly as it did.
        return request.model_dump(mode="json", exclude_unset=True)

    def step(self, name: StepName) -> Step | None:
        return next((step for step in self.steps if step.name == name), None)

    def current(self) -> Step | None:
        """The first step not yet done; None once every step succeeded."""
        return next((step for step in self.steps if step.status not in STEP_DONE), None)
