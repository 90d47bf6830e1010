"""Every error answer: RFC 9457 problem+json, or OpenAI's envelope on the OpenAI-compatible routes."""

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from service.errors import FieldError, ServiceError
from service.logs import log

OPENAI_COMPATIBLE = ("/v1/chat/completions", "/v1/embeddings", "/v1/models")
OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "invalid_request_error", 409: "conflict_error",
                422: "invalid_request_error", 429: "rate_limit_exceeded"}


def problem(status: int, code: str, detail: str, errors: Sequence[FieldError] = (),
            headers: Mapping[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase,
                            "status": status, "detail": detail, "code": code}
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status, headers=dict(headers or {}),
                        media_type="application/problem+json")


def openai_error(status: int, code: str, detail: str, errors: Sequence[FieldError] = (),
                 headers: Mapping[str, str] | None = None) -> JSONResponse:
    param = errors[0]["field"].removeprefix("body.") if errors else None
    kind = OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": detail, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status, headers=dict(headers or {}))


def error_response(request: Request, status: int, code: str, detail: str,
                   errors: Sequence[FieldError] = (),
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    compatible = request.url.path.startswith(OPENAI_COMPATIBLE)
    return (openai_error if compatible else problem)(status, code, detail, errors, headers)


async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(request, exc.status, exc.code, exc.detail, exc.errors, exc.headers)


def field_name(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    if any(p.get("type") == "json_invalid" for p in problems):
        where = next(p for p in problems if p.get("type") == "json_invalid")
        message = where.get("ctx", {}).get("error", "invalid JSON")
        return error_response(request, 400, "malformed_json",
                              f"The request body is not valid JSON: {message}.",
                              [FieldError(field="body", message=str(message))])
    errors = [FieldError(field=field_name(p["loc"]), message=p["msg"]) for p in problems]
    first = errors[0] if errors else FieldError(field="body", message="invalid")
    detail = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return error_response(request, 422, "validation_error", detail, errors)


HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
              401: "unauthorized", 400: "bad_request"}


# Why FastAPI could not parse a JSON body, when its own 400 does not say.
UNPARSABLE_BODY = {RecursionError: "it is nested too deeply",
                   UnicodeDecodeError: "it is not UTF-8 text"}


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    reason = next((why for kind, why in UNPARSABLE_BODY.items()
                   if isinstance(exc.__cause__, kind)), None)
    if status == 400 and reason is not None:
        return error_response(request, 400, "malformed_json",
                              f"The request body is not valid JSON: {reason}.",
                              [FieldError(field="body", message=reason)])
    detail = {404: f"No route {request.url.path}.",
              405: f"{request.method} is not allowed on {request.url.path}."}.get(
                  status, str(exc.detail))
    return error_response(request, status, HTTP_CODES.get(status, "http_error"), detail,
                          headers=exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.failed", path=request.url.path)
    return error_response(request, 500, "internal_error",
                          "The service failed to answer; the failure was logged.")
