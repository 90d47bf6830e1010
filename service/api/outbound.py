"""The events the service POSTs to registered webhooks, published in the OpenAPI `webhooks`."""

from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field, create_model

from service.evaluations.models import Evaluation
from service.jobs.models import Job
from service.pipelines.models import Pipeline

SIGNATURE_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "The event's id (`evt_…`), the same on every retry: deduplicate on it."},
    {"name": "webhook-timestamp", "in": "header", "required": True,
     "schema": {"type": "string"}, "description": "Unix seconds when this attempt was signed."},
    {"name": "webhook-signature", "in": "header", "required": True,
     "schema": {"type": "string"},
     "description": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the webhook's secret "
                    "(Standard Webhooks)."},
]
ANSWER: dict[int | str, dict[str, Any]] = {
    "2XX": {"description": "Received. Any other answer (or none in 10 s) is retried "
                           "with exponential backoff."}}


class JobData(BaseModel):
    job: Job


class StalledJobData(BaseModel):
    job: Job
    idle_seconds: int = Field(description="Seconds without a provider event or status change.")


class EvaluationData(BaseModel):
    evaluation: Evaluation


class PipelineData(BaseModel):
    pipeline: Pipeline


def envelope(name: str, event: str, data: type[BaseModel]) -> type[BaseModel]:
    """The delivered body: {"id", "type", "created_at", "data"}."""
    fields: dict[str, Any] = {"id": (str, Field(description="`evt_…`; also `webhook-id`.")),
                              "type": (Literal[event], ...), "created_at": (int, ...),
                              "data": (data, ...)}
    return create_model(name, __doc__=f"The body of a `{event}` delivery.", **fields)


EVENTS: dict[str, tuple[str, type[BaseModel], str]] = {
    "job.status_changed": ("JobStatusChangedEvent", JobData, "A job's status changed."),
    "job.succeeded": ("JobSucceededEvent", JobData, "A job succeeded: its model is usable."),
    "job.failed": ("JobFailedEvent", JobData, "A job failed; `job.error` says why."),
    "job.cancelled": ("JobCancelledEvent", JobData, "A job was cancelled."),
    "job.stalled": ("JobStalledEvent", StalledJobData,
                    "An active job showed no progress for longer than the configured time."),
    "evaluation.completed": ("EvaluationCompletedEvent", EvaluationData,
                             "An evaluation ended (succeeded, failed or cancelled)."),
    "pipeline.completed": ("PipelineCompletedEvent", PipelineData,
                           "A pipeline ended (succeeded, failed or cancelled)."),
}


def receiver(body_model: type[BaseModel]) -> Callable[..., None]:
    def receive(body: body_model) -> None:  # type: ignore[valid-type]
        """Documentation only: the service sends this; it serves no such route."""

    return receive


def register(app: FastAPI) -> None:
    """One OpenAPI webhook per outbound event type."""
    for event, (name, data, summary) in EVENTS.items():
        app.webhooks.add_api_route(
            event, receiver(envelope(name, event, data)), methods=["POST"], summary=summary,
            operation_id=f"on{name.removesuffix('Event')}", tags=["webhooks"],
            responses=ANSWER, openapi_extra={"parameters": SIGNATURE_HEADERS},
            description=f"Sent to each webhook subscribed to `{event}`"
                        + (" and to the job's own `webhook_url`." if event.startswith("job.")
                           else "."))
