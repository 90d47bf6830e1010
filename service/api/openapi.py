"""The published OpenAPI document: FastAPI's, plus what routes cannot say about themselves —
readable operation ids, every error answer, the shared headers, links and outbound webhooks."""

import json
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from service.api.contract import (
    NOT_IDEMPOTENT,
    OPENAI_COMPATIBLE,
    PROBLEM_JSON,
    OpenAIError,
    Problem,
)
from service.datasets.pricing import PriceTable, load_prices

TAGS = [
    {"name": "datasets", "description": "Upload training files; validate, price, convert and "
                                        "split them."},
    {"name": "jobs", "description": "Fine-tuning jobs: launched once at the provider, followed "
                                    "to the end, with events, metrics and checkpoints."},
    {"name": "evaluations", "description": "Score models on a labelled dataset and compare "
                                           "them."},
    {"name": "pipelines", "description": "Convert, split, fine-tune and evaluate in one call."},
    {"name": "models", "description": "OpenAI-compatible: the base models the project may use "
                                      "and its fine-tuned models."},
    {"name": "playground", "description": "OpenAI-compatible chat completions and embeddings."},
    {"name": "webhooks", "description": "Endpoints that receive the service's events, signed."},
    {"name": "providers", "description": "Webhooks the provider sends to the service."},
    {"name": "admin", "description": "Projects and API keys; needs the admin key."},
    {"name": "operations", "description": "Liveness and readiness."},
]

STATUS_TEXT = {
    400: "The request cannot be read: malformed JSON or multipart, or a bad request.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key may not do this.",
    404: "No such resource in this project (another project's resources are not found either).",
    409: "The resource's state does not allow this, or the Idempotency-Key was used for another "
         "request.",
    408: "The body stopped arriving or came too slowly; nothing of it was kept.",
    413: "The body is over the size limit.",
    414: "The path and query string are over the size limit.",
    422: "The request was read but is not acceptable; `errors` names each field at fault.",
    429: "Rate limited: wait `Retry-After` seconds.",
    431: "The request headers are over the size or count limit.",
    502: "The provider failed.",
    503: "A dependency (Redis, storage, the provider) is unavailable; retry later.",
}
STRING = {"type": "string"}


def server_sent_events(description: str) -> dict[str, Any]:
    """A text/event-stream answer: the schema is one event's fields (`data` as sent, a string)."""
    return {"text/event-stream": {"schema": {
        "type": "object", "description": description, "required": ["data"],
        "properties": {"data": STRING, "event": STRING, "id": STRING,
                       "retry": {"type": "integer"}}}}}
HEADERS = {
    "X-Request-ID": {"description": "The request's id: the client's own when it sent one.",
                     "schema": STRING},
    "Location": {"description": "The created resource.", "schema": STRING},
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": STRING},
    "Idempotent-Replayed": {"description": "`true` when this is the stored answer to an earlier "
                                           "request with the same Idempotency-Key.",
                            "schema": {"type": "string", "enum": ["true"]}},
    "x-ratelimit-limit-requests": {"description": "Requests a minute allowed for this key.",
                                   "schema": STRING},
    "x-ratelimit-remaining-requests": {"description": "Requests left now.", "schema": STRING},
    "x-ratelimit-reset-requests": {"description": "Time until the limit is whole again (`2s`).",
                                   "schema": STRING},
}
RATE_HEADERS = ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
                "x-ratelimit-reset-requests")
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Send the same key to repeat this request safely: the same key with the "
                   "same request answers the first response again (with `Idempotent-Replayed: "
                   "true`); with a different request it is `409 idempotency_key_reused`. Keys "
                   "live 24 h.",
    "schema": {"type": "string", "maxLength": 200}}


# From each create operation's answer to what a client does next with what it made.
LINKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "uploadDataset": ("dataset_id", ("getDataset", "getDatasetReport", "listDatasetRows",
                                     "convertDataset", "splitDataset", "deleteDataset")),
    "convertDataset": ("dataset_id", ("getDataset", "getDatasetReport", "listDatasetRows",
                                      "deleteDataset")),
    "createJob": ("job_id", ("getJob", "cancelJob", "pauseJob", "resumeJob", "listJobEvents",
                             "streamJobEvents", "getJobMetrics", "listJobCheckpoints")),
    "importJob": ("job_id", ("getJob", "cancelJob", "listJobEvents")),
    "createEvaluation": ("evaluation_id", ("getEvaluation", "cancelEvaluation",
                                           "listEvaluationPredictions")),
    "createPipeline": ("pipeline_id", ("getPipeline", "cancelPipeline")),
    "createWebhook": ("webhook_id", ("getWebhook", "listWebhookDeliveries", "deleteWebhook")),
    "createProject": ("project_id", ("getProject", "createApiKey")),
    "createApiKey": ("key_id", ("deleteApiKey",)),
}


def add_links(operation: dict[str, Any]) -> None:
    param, targets = LINKS.get(operation["operationId"], ("", ()))
    for status, response in operation["responses"].items():
        if targets and status in ("201", "202"):
            response["links"] = {target: {
                "operationId": target, "parameters": {param: "$response.body#/id"},
                "description": f"`id` of the answer as `{param}`."} for target in targets}


def operation_id(route: APIRoute) -> str:
    """`create_job` → `createJob`: OpenAI's style of operation id, from the route's name."""
    first, *rest = route.name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(title=app.title, version=app.version, description=app.description,
                       routes=app.routes, tags=TAGS, webhooks=app.webhooks.routes)
    schemas = spec["components"]["schemas"]
    spec["components"]["headers"] = HEADERS
    for model in (Problem, OpenAIError):
        add_schema(schemas, model)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    tunable = tunable_model(app.state.context.settings.tunable_models)
    for name in ("JobCreate", "PipelineJob"):
        schemas[name]["properties"]["model"] = tunable
    evaluated = schemas["EvaluationCreate"]["properties"]["models"]["anyOf"][0]
    evaluated["items"] = evaluable_model(app.state.context.settings.chat_models)
    report = spec["paths"]["/v1/datasets/{dataset_id}/report"]["get"]
    for param in report["parameters"]:
        if param["name"] == "model":
            param["schema"] = priced_model(load_prices(app.state.context.settings.price_table))
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            complete(path, method, operation)
    return rename_pages(spec)


def priced_model(prices: PriceTable) -> dict[str, Any]:
    """A model the price table knows, or a fine-tuned model of one."""
    names = sorted([*prices.models, *prices.aliases])
    # A dated snapshot suffix is dropped as the price table's lookup drops it (_SNAPSHOT_SUFFIX).
    tuned = ("^ft:(?:" + "|".join(name.replace(".", "\\.") for name in names)
             + ")(?:-[0-9]{4}-[0-9]{2}-[0-9]{2}|-[0-9]{4})?:\\S+$")
    return {"anyOf": [{"type": "string", "enum": names}, {"type": "string", "pattern": tuned}],
            "description": "The tokenizer, context limit and price to use; default the "
                           "configured default model."}


def rename_pages(spec: dict[str, Any]) -> dict[str, Any]:
    """`Page_Job_` (pydantic's name for Page[Job]) becomes `JobList`."""
    text = json.dumps(spec)
    for name in list(spec["components"]["schemas"]):
        found = re.fullmatch(r"Page_(\w+?)_", name)
        if found:
            text = text.replace(f'"#/components/schemas/{name}"',
                                f'"#/components/schemas/{found[1]}List"')
    renamed: dict[str, Any] = json.loads(text)
    schemas = renamed["components"]["schemas"]
    for name in list(schemas):
        found = re.fullmatch(r"Page_(\w+?)_", name)
        if found:
            schemas[f"{found[1]}List"] = schemas.pop(name)
    renamed["components"]["schemas"] = dict(sorted(schemas.items()))
    return renamed


def tunable_model(models: list[str]) -> dict[str, Any]:
    """What POST /v1/jobs takes as model: a configured base model or a fine-tuned one."""
    return {"anyOf": [{"type": "string", "enum": models},
                      {"type": "string", "pattern": "^ft:[^\\s]+$"}],
            "description": "A configured base model, or one of the project's fine-tuned models "
                           "(an unknown `ft:` model is `404 model_not_found`).",
            "examples": [models[0]] if models else []}


def evaluable_model(models: list[str]) -> dict[str, Any]:
    """What POST /v1/evaluations takes in models: a configured chat model or a fine-tuned one."""
    return {"anyOf": [{"type": "string", "enum": models},
                      {"type": "string", "pattern": "^ft:[^\\s]+$"}],
            "description": "A configured chat model, or one of the project's fine-tuned models "
                           "(an unknown `ft:` model is `404 model_not_found`, a deleted one "
                           "`422 model_not_available`)."}


def add_schema(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    found = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(found.pop("$defs", {}))
    schemas[model.__name__] = found


def header(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def complete(path: str, method: str, operation: dict[str, Any]) -> None:
    """Error answers, headers and the Idempotency-Key parameter of one operation."""
    compatible = path.startswith(OPENAI_COMPATIBLE)
    authenticated = "security" in operation
    responses = operation["responses"]
    for status, response in responses.items():
        if status.startswith("2"):
            json_first(response)
            headers = response.setdefault("headers", {})
            headers["X-Request-ID"] = header("X-Request-ID")
            if authenticated:
                headers.update({name: header(name) for name in RATE_HEADERS})
            if status == "201" or (status == "202" and method == "post"):
                headers["Location"] = header("Location")
    if method == "post" and not path.startswith(NOT_IDEMPOTENT):
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
        for status, response in responses.items():
            if status.startswith("2"):
                response["headers"]["Idempotent-Replayed"] = header("Idempotent-Replayed")
    statuses = error_statuses(path, method, operation)
    responses.pop("422", None)  # FastAPI's own, with a body the service never sends
    if compatible:
        statuses.discard(422)  # OpenAI answers 400 to an invalid request
    for status in statuses:
        responses[str(status)] = error_response(status, compatible)
    operation["responses"] = dict(sorted(responses.items()))
    add_links(operation)


def json_first(response: dict[str, Any]) -> None:
    """JSON before the other media types (streams, CSV): generated clients parse the first."""
    content = response.get("content", {})
    if "application/json" in content:
        response["content"] = {"application/json": content["application/json"], **content}


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """Every error status the operation can answer."""
    found = {int(status) for status in operation["responses"]
             if status[0] in "45" and status != "422"}
    params = operation.get("parameters", [])
    found |= {414, 431}  # checked on every request before routing
    if path != "/healthz":
        found.add(503)  # Redis, storage or the provider unreachable
    if "security" in operation:
        found |= {401, 429}
    if "requestBody" in operation:
        found |= {400, 408, 413, 422}
    if any(param["in"] != "path" and param["name"] != "Idempotency-Key" for param in params):
        found.add(422)
    if any(param["in"] == "path" or param["name"] == "after" for param in params):
        found.add(404)  # an unknown id in the path, or as the cursor
    if any(param["name"] == "Idempotency-Key" for param in params):
        found.add(409)
    return found


def error_response(status: int, compatible: bool) -> dict[str, Any]:
    headers = {"X-Request-ID": header("X-Request-ID")}
    if status in (409, 429, 503):
        headers["Retry-After"] = header("Retry-After")  # 409: when the state changes soon
    if compatible:
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}
    else:
        content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {"description": STATUS_TEXT[status], "headers": headers, "content": content}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's own error statuses beyond those every route of its kind has."""
    return {status: {"description": STATUS_TEXT[status]} for status in statuses}
