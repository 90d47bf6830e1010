from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.names import Name
from service.store.records import Record

# What the service takes for a receiver (checked in service.webhooks.targets), for the published
# schema: an absolute http(s) URL whose host is a name or an IPv4 address, with no user name or
# password, in printable ASCII.
WEBHOOK_URL_PATTERN = (r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~-]+(:[0-9]{1,5})?"
                       r"([/?#][\x21-\x7e]*)?$")


class WebhookEvent(StrEnum):
    job_succeeded = "job.succeeded"
    job_failed = "job.failed"
    job_cancelled = "job.cancelled"
    job_status_changed = "job.status_changed"
    job_stalled = "job.stalled"
    evaluation_completed = "evaluation.completed"
    pipeline_completed = "pipeline.completed"


class DeliveryStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"url": "https://hooks.example.com/finetune",
         "events": ["job.succeeded", "job.failed", "evaluation.completed"]}]})
    url: str = Field(max_length=2048, examples=["https://hooks.example.com/finetune"],
                     description="a public http(s) URL without credentials; checked by the "
                                 "service against the operator's allow-list",
                     json_schema_extra={"pattern": WEBHOOK_URL_PATTERN})
    events: list[WebhookEvent] = Field(min_length=1, json_schema_extra={"uniqueItems": True})
    description: Name | None = Field(None, max_length=512)

    @field_validator("events")
    @classmethod
    def _distinct(cls, value: list[WebhookEvent]) -> list[WebhookEvent]:
        return list(dict.fromkeys(value))


class Webhook(Record):
    """An endpoint of a project; its signing secret is stored apart and shown only at creation."""

    kind: ClassVar[str] = "webhook"
    object: Literal["webhook"] = "webhook"
    project_id: str
    url: str
    events: list[WebhookEvent]
    description: str | None = None


class WebhookCreated(Webhook):
    """The one answer that shows the secret."""

    secret: str


class JobSecret(BaseModel):
    """The one answer that shows the secret signing deliveries to jobs' own webhook_url."""

    object: Literal["webhook.job_secret"] = "webhook.job_secret"
    secret: str
    created_at: int


class Attempt(BaseModel):
    at: int
    status_code: int | None
    error: str | None
    duration_ms: int


class Delivery(Record):
    kind: ClassVar[str] = "delivery"
    object: Literal["webhook.delivery"] = "webhook.delivery"
    project_id: str
    webhook_id: str | None = Field(description="null for a job's own webhook_url")
    event_type: WebhookEvent
    event_id: str
    url: str
    status: DeliveryStatus = DeliveryStatus.pending
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: int | None = None
    delivered_at: int | None = None
    history: list[Attempt] = Field(default_factory=list)


class Received(BaseModel):
    """The answer to a verified provider webhook, whether or not it concerned a known job."""

    received: Literal[True] = True
