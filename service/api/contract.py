"""What clients read before they send anything: the error schemas and every error code."""

from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"
# The OpenAI-compatible routes answer errors in OpenAI's envelope, as OpenAI does.
OPENAI_COMPATIBLE = ("/v1/chat/completions", "/v1/embeddings", "/v1/models")
# POSTs that take no Idempotency-Key: the compatible routes, as OpenAI's, and provider webhooks.
NOT_IDEMPOTENT = (*OPENAI_COMPATIBLE, "/v1/providers/")

ERROR_CODES: dict[str, str] = {
    # Requests the service could not read.
    "bad_request": "The request is wrong in a way no more precise code names.",
    "malformed_json": "The body is not valid JSON.",
    "invalid_multipart": "The multipart body of an upload cannot be read.",
    "payload_too_large": "The body is over the configured size limit.",
    "method_not_allowed": "The route does not take this HTTP method.",
    "http_error": "Another HTTP-level refusal (the status says which).",
    # Requests that were read but are not acceptable.
    "validation_error": "A field is missing, of the wrong type or out of range; `errors` lists "
                        "each field at fault.",
    "invalid_request": "The request is well-formed but cannot be carried out.",
    "invalid_cursor": "`after` (or `Last-Event-ID`) is not an id of this list.",
    "unsupported_encoding": "A CSV upload is not UTF-8; the detail names the line.",
    "invalid_file": "An uploaded file cannot be parsed in its format.",
    "unknown_column": "A convert template names a column the CSV does not have.",
    "budget_exceeded": "The job's estimated cost is over `max_cost_usd` or the project's budget.",
    "conflicting_hyperparameters": "Hyperparameters were sent both in `method` and at the top "
                                   "level.",
    "dataset_format_mismatch": "The dataset's format does not suit the job's method.",
    "model_not_tunable": "The model cannot be fine-tuned here.",
    "model_not_available": "The model is not configured for this use.",
    "provider_job_already_tracked": "The provider job is already tracked by a job here.",
    "invalid_webhook_signature": "An inbound provider webhook's signature does not verify.",
    "invalid_webhook_url": "A webhook URL is not an absolute http(s) URL, or carries credentials.",
    "webhook_target_not_allowed": "A webhook URL points at a loopback, private, link-local or "
                                  "other non-public address the operator has not allowed.",
    "invalid_name": "A name or file name holds control characters.",
    "request_timeout": "The request body stopped arriving, or came too slowly.",
    "uri_too_long": "The path and query string are over the configured size.",
    "headers_too_large": "The request headers are over the configured size or count.",
    # Who is asking.
    "unauthorized": "No API key, or one that is unknown or revoked (`invalid_api_key` on the "
                    "OpenAI-compatible routes).",
    "invalid_api_key": "The OpenAI-compatible routes' name for `unauthorized`.",
    "forbidden": "The key may not do this.",
    "model_not_deletable": "Only the project's own fine-tuned models can be deleted.",
    # What is asked about.
    "not_found": "No such route or resource.",
    "dataset_not_found": "No dataset with this id in the project.",
    "job_not_found": "No job with this id in the project.",
    "evaluation_not_found": "No evaluation with this id in the project.",
    "pipeline_not_found": "No pipeline with this id in the project.",
    "webhook_not_found": "No webhook with this id in the project.",
    "project_not_found": "No project with this id.",
    "key_not_found": "No API key with this id.",
    "provider_job_not_found": "The provider has no fine-tuning job with this id.",
    "model_not_found": "No such model for this project, or it was deleted.",
    "webhook_not_configured": "Inbound provider webhooks are not configured.",
    # The state it is in.
    "conflict": "The resource's state does not allow this.",
    "idempotency_key_reused": "This Idempotency-Key was used with a different request.",
    "idempotency_key_in_use": "A request with this Idempotency-Key is still running.",
    "dataset_not_ready": "The dataset is still being validated, or is invalid.",
    "dataset_in_use": "An active job uses the dataset.",
    "invalid_job_state": "The job's status does not allow this action.",
    "invalid_evaluation_state": "The evaluation's status does not allow this action.",
    "invalid_pipeline_state": "The pipeline's status does not allow this action.",
    # Limits.
    "rate_limited": "Too many requests for this key; wait `Retry-After` seconds.",
    "too_many_failed_attempts": "Too many wrong keys from this address; wait `Retry-After`.",
    "validation_backlog": "Too many of the project's datasets await validation; wait "
                          "`Retry-After` seconds.",
    # The service and its provider.
    "not_ready": "A dependency (Redis, storage, the tokenizer's files) is unreachable.",
    "store_unavailable": "Redis cannot be reached; retry after `Retry-After` seconds.",
    "tokenizer_unavailable": "The tokenizer's encoding files cannot be loaded; the detail names "
                             "the encoding and the setting to fix.",
    "internal_error": "The service failed; the failure was logged with the request id.",
    "provider_error": "The provider failed in an unexpected way.",
    "provider_unavailable": "The provider cannot be reached or failed; retry later.",
    "provider_rate_limited": "The provider is rate limiting the service; wait `Retry-After`.",
    "provider_auth_failed": "The provider refused the service's own credentials.",
    "provider_capacity": "The provider refuses new work until running work finishes.",
    "provider_rejected": "The provider refused the request; on the OpenAI-compatible routes the "
                         "provider's own status, type and code are passed through instead.",
}


def code_table() -> str:
    rows = "\n".join(f"| `{code}` | {meaning} |" for code, meaning in ERROR_CODES.items())
    return ("A stable snake_case code for programs to branch on:\n\n| code | meaning |\n"
            f"| --- | --- |\n{rows}")


class ProblemFieldError(BaseModel):
    field: str = Field(description="Where: `body.suffix`, `query.limit`, `header.x`…")
    message: str


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details) with a stable `code`."""

    type: str = Field("about:blank", description="Always `about:blank`: `code` says which.")
    title: str = Field(description="The HTTP status phrase.")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="A sentence for a person: what is wrong, what to do.")
    code: str = Field(description=code_table())
    errors: list[ProblemFieldError] | None = Field(
        None, description="The fields at fault (validation errors).")


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str = Field(description="`invalid_request_error`, `authentication_error`, "
                                  "`permission_error`, `rate_limit_exceeded`, `server_error`, "
                                  "or the provider's own.")
    param: str | None
    code: str | None = Field(description="One of the codes of `Problem.code`, or the provider's "
                                         "own code, unchanged.")


class OpenAIError(BaseModel):
    """OpenAI's error envelope, used by the OpenAI-compatible routes."""

    error: OpenAIErrorDetail
