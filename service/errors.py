"""Errors a client can act on: each class fixes an HTTP status and a stable `code`.

Every error class of the service lives here, drawn as it inherits (a test checks the drawing):

    ServiceError (400 bad_request)
    ├── InvalidWebhookSignature (400 invalid_webhook_signature)
    ├── InvalidRequest (422 invalid_request)
    │   ├── UnsupportedEncoding (422 unsupported_encoding)
    │   ├── InvalidFile (422 invalid_file)
    │   ├── UnknownColumn (422 unknown_column)
    │   ├── BudgetExceeded (422 budget_exceeded)
    │   ├── ConflictingHyperparameters (422 conflicting_hyperparameters)
    │   ├── ModelNotAvailable (422 model_not_available)
    │   ├── InvalidWebhookUrl (422 invalid_webhook_url)
    │   ├── WebhookTargetNotAllowed (422 webhook_target_not_allowed)
    │   ├── InvalidMultipart (422 invalid_multipart)
    │   ├── InvalidName (422 invalid_name)
    │   ├── InvalidCursor (422 invalid_cursor)
    │   ├── DatasetFormatMismatch (422 dataset_format_mismatch)
    │   └── ModelNotTunable (422 model_not_tunable)
    ├── Unauthorized (401 unauthorized)
    ├── Forbidden (403 forbidden)
    │   └── ModelNotDeletable (403 model_not_deletable)
    ├── NotFound (404 not_found)
    │   ├── DatasetNotFound (404 dataset_not_found)
    │   ├── JobNotFound (404 job_not_found)
    │   ├── EvaluationNotFound (404 evaluation_not_found)
    │   ├── PipelineNotFound (404 pipeline_not_found)
    │   ├── WebhookNotFound (404 webhook_not_found)
    │   ├── ProviderJobNotFound (404 provider_job_not_found)
    │   ├── WebhookNotConfigured (404 webhook_not_configured)
    │   ├── ProjectNotFound (404 project_not_found)
    │   ├── KeyNotFound (404 key_not_found)
    │   └── ModelNotFound (404 model_not_found)
    │       └── ModelDeleted (404 model_not_found)
    ├── Conflict (409 conflict)
    │   ├── IdempotencyKeyReused (409 idempotency_key_reused)
    │   ├── DatasetNotReady (409 dataset_not_ready)
    │   ├── DatasetInUse (409 dataset_in_use)
    │   ├── InvalidJobState (409 invalid_job_state)
    │   ├── InvalidEvaluationState (409 invalid_evaluation_state)
    │   ├── InvalidPipelineState (409 invalid_pipeline_state)
    │   ├── IdempotencyKeyInUse (409 idempotency_key_in_use)
    │   └── ProviderJobAlreadyTracked (409 provider_job_already_tracked)
    ├── PayloadTooLarge (413 payload_too_large)
    ├── MalformedJson (400 malformed_json)
    ├── RequestTimeout (408 request_timeout)
    ├── UriTooLong (414 uri_too_long)
    ├── HeadersTooLarge (431 headers_too_large)
    ├── RateLimited (429 rate_limited)
    │   └── TooManyFailedAttempts (429 too_many_failed_attempts)
    ├── StoreUnavailable (503 store_unavailable)
    ├── TokenizerUnavailable (503 tokenizer_unavailable)
    ├── ProviderError (502 provider_error)
    │   ├── ProviderUnavailable (503 provider_unavailable)
    │   ├── ProviderRateLimited (429 provider_rate_limited)
    │   ├── ProviderAuthFailed (502 provider_auth_failed)
    │   ├── ProviderCapacity (429 provider_capacity)
    │   └── ProviderRejected (400 provider_rejected)
    └── ValidationBacklog (429 validation_backlog)
"""

from collections.abc import Mapping, Sequence
from typing import ClassVar, TypedDict


class FieldError(TypedDict):
    field: str
    message: str


class ServiceError(Exception):
    """An error the client can act on. Subclasses fix status and code."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = (),
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail, self.errors, self.headers = detail, list(errors), dict(headers or {})


class InvalidWebhookSignature(ServiceError):
    code = "invalid_webhook_signature"


class InvalidRequest(ServiceError):
    status = 422
    code = "invalid_request"


class UnsupportedEncoding(InvalidRequest):
    code = "unsupported_encoding"


class InvalidFile(InvalidRequest):
    code = "invalid_file"


class UnknownColumn(InvalidRequest):
    code = "unknown_column"


class BudgetExceeded(InvalidRequest):
    code = "budget_exceeded"


class ConflictingHyperparameters(InvalidRequest):
    code = "conflicting_hyperparameters"


class ModelNotAvailable(InvalidRequest):
    code = "model_not_available"


class InvalidWebhookUrl(InvalidRequest):
    code = "invalid_webhook_url"


class WebhookTargetNotAllowed(InvalidRequest):
    """A webhook URL on a loopback, private, link-local, multicast or unspecified address."""

    code = "webhook_target_not_allowed"


class InvalidMultipart(InvalidRequest):
    code = "invalid_multipart"


class InvalidName(InvalidRequest):
    """A name or file name holds control characters."""

    code = "invalid_name"


class InvalidCursor(InvalidRequest):
    """`after` (or `Last-Event-ID`) is not an id of the list."""

    code = "invalid_cursor"


class DatasetFormatMismatch(InvalidRequest):
    code = "dataset_format_mismatch"


class ModelNotTunable(InvalidRequest):
    code = "model_not_tunable"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class ModelNotDeletable(Forbidden):
    code = "model_not_deletable"


class NotFound(ServiceError):
    status = 404
    code = "not_found"

    def __init__(self, kind: str, resource_id: str, *, detail: str | None = None) -> None:
        super().__init__(detail or f"No {kind} {resource_id!r} in this project.")


class DatasetNotFound(NotFound):
    code = "dataset_not_found"

    def __init__(self, dataset_id: str) -> None:
        super().__init__("dataset", dataset_id)


class JobNotFound(NotFound):
    code = "job_not_found"

    def __init__(self, job_id: str) -> None:
        super().__init__("job", job_id)


class EvaluationNotFound(NotFound):
    code = "evaluation_not_found"

    def __init__(self, evaluation_id: str) -> None:
        super().__init__("evaluation", evaluation_id)


class PipelineNotFound(NotFound):
    code = "pipeline_not_found"

    def __init__(self, pipeline_id: str) -> None:
        super().__init__("pipeline", pipeline_id)


class WebhookNotFound(NotFound):
    code = "webhook_not_found"

    def __init__(self, webhook_id: str) -> None:
        super().__init__("webhook", webhook_id)


class ProviderJobNotFound(NotFound):
    code = "provider_job_not_found"

    def __init__(self, provider_job_id: str) -> None:
        super().__init__("provider job", provider_job_id)


class WebhookNotConfigured(NotFound):
    """An inbound provider webhook arrived but no secret to verify it is configured."""

    code = "webhook_not_configured"

    def __init__(self, detail: str) -> None:
        super().__init__("webhook secret", "openai", detail=detail)


class ProjectNotFound(NotFound):
    code = "project_not_found"

    def __init__(self, project_id: str) -> None:
        super().__init__("project", project_id)


class KeyNotFound(NotFound):
    code = "key_not_found"

    def __init__(self, key_id: str) -> None:
        super().__init__("key", key_id)


class ModelNotFound(NotFound):
    code = "model_not_found"

    def __init__(self, model: str, *, detail: str | None = None) -> None:
        super().__init__("model", model, detail=detail)


class ModelDeleted(ModelNotFound):
    """Answers as model_not_found on purpose: to a client a deleted model is a missing one."""

    def __init__(self, model: str) -> None:
        super().__init__(model, detail=f"The model {model!r} was deleted; it can no longer be "
                                       "used.")


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class DatasetNotReady(Conflict):
    code = "dataset_not_ready"


class DatasetInUse(Conflict):
    code = "dataset_in_use"


class InvalidJobState(Conflict):
    code = "invalid_job_state"


class InvalidEvaluationState(Conflict):
    code = "invalid_evaluation_state"


class InvalidPipelineState(Conflict):
    code = "invalid_pipeline_state"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"


class ProviderJobAlreadyTracked(Conflict):
    code = "provider_job_already_tracked"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class MalformedJson(ServiceError):
    code = "malformed_json"


class RequestTimeout(ServiceError):
    """The client sent its body too slowly (or stopped sending it)."""
    status = 408
    code = "request_timeout"


class UriTooLong(ServiceError):
    status = 414
    code = "uri_too_long"


class HeadersTooLarge(ServiceError):
    status = 431
    code = "headers_too_large"


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests; retry after {retry_after} s.",
                         headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class TooManyFailedAttempts(RateLimited):
    code = "too_many_failed_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.detail = (f"Too many failed authentication attempts from this address; retry "
                       f"after {retry_after} s.")


class StoreUnavailable(ServiceError):
    """Redis cannot be reached; the same request succeeds once it is back."""

    status = 503
    code = "store_unavailable"

    def __init__(self, retry_after: int = 5) -> None:
        super().__init__("The service's store is unreachable; retry shortly.",
                         headers={"Retry-After": str(retry_after)})


class TokenizerUnavailable(ServiceError):
    """tiktoken's file for an encoding is neither in the cache directory nor downloadable."""

    status = 503
    code = "tokenizer_unavailable"

    def __init__(self, encoding: str) -> None:
        super().__init__(
            f"The tokenizer encoding {encoding!r} could not be loaded: it is not in the "
            "tiktoken cache directory and could not be downloaded. Put its file in the "
            "directory FTM_TIKTOKEN_CACHE_DIR names (or allow the download), then retry.",
            headers={"Retry-After": "30"})
        self.encoding = encoding


class ProviderError(ServiceError):
    status = 502
    code = "provider_error"


class ProviderUnavailable(ProviderError):
    status = 503
    code = "provider_unavailable"


class ValidationBacklog(ServiceError):
    """The project has as many datasets awaiting validation as it may."""

    status = 429
    code = "validation_backlog"

    def __init__(self, waiting: int, retry_after: int) -> None:
        super().__init__(f"{waiting} datasets of this project are awaiting validation; upload "
                         f"more once they are done (retry after {retry_after} s).",
                         headers={"Retry-After": str(retry_after)})


class ProviderRateLimited(ProviderError):
    status = 429
    code = "provider_rate_limited"


class ProviderAuthFailed(ProviderError):
    code = "provider_auth_failed"


class ProviderCapacity(ProviderError):
    """The provider refused new work until running work finishes (an account job limit)."""

    status = 429
    code = "provider_capacity"


class ProviderRejected(ProviderError):
    status = 400
    code = "provider_rejected"

    def __init__(self, detail: str, *, param: str | None = None,
                 provider_code: str | None = None, provider_status: int = 400,
                 provider_error: Mapping[str, object] | None = None) -> None:
        errors = [FieldError(field=param, message=detail)] if param else []
        super().__init__(detail, errors=errors)
        self.param, self.provider_code = param, provider_code
        self.provider_status = provider_status
        # The provider's error object ({message, type, param, code}), scrubbed of key-like text.
        self.provider_error = dict(provider_error or {})
