"""Every error answer: RFC 9457 problem+json, or OpenAI's envelope on the OpenAI-compatible
routes."""

import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from service.api.contract import OPENAI_COMPATIBLE, PROBLEM_JSON
from service.errors import FieldError, ProviderRejected, ServiceError
from service.logs import log

OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "invalid_request_error", 409: "conflict_error",
                422: "invalid_request_error", 429: "rate_limit_exceeded"}
# OpenAI's own names where they differ from the service's.
OPENAI_CODES = {"unauthorized": "invalid_api_key"}


def problem(status: int, code: str, detail: str, errors: Sequence[FieldError] = (),
            headers: Mapping[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase,
                            "status": status, "detail": detail, "code": code}
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status, headers=dict(headers or {}),
                        media_type=PROBLEM_JSON)


def openai_error(status: int, code: str, detail: str, errors: Sequence[FieldError] = (),
                 headers: Mapping[str, str] | None = None) -> JSONResponse:
    """OpenAI's envelope; an invalid request is a 400, as OpenAI answers it."""
    param = errors[0]["field"].removeprefix("body.") if errors else None
    status = 400 if status == 422 else status
    kind = OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": detail, "type": kind, "param": param,
                      "code": OPENAI_CODES.get(code, code)}}
    return JSONResponse(body, status, headers=dict(headers or {}))


def is_compatible(request: Request) -> bool:
    return request.url.path.startswith(OPENAI_COMPATIBLE)


def error_response(request: Request, status: int, code: str, detail: str,
                   errors: Sequence[FieldError] = (),
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return (openai_error if is_compatible(request) else problem)(status, code, detail, errors,
                                                                 headers)


async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if isinstance(exc, ProviderRejected) and exc.provider_error and is_compatible(request):
        # The provider's own refusal, unchanged: clients branch on its code
        # (context_length_exceeded…).
        return JSONResponse({"error": exc.provider_error}, exc.provider_status)
    return error_response(request, exc.status, exc.code, exc.detail, exc.errors, exc.headers)


# Pydantic names the member of a union an error came from ("literal['auto']", "constrained-int"):
# not part of where the field is.
UNION_MEMBER = re.compile(
    r"^(literal\[.*\]|constrained-\w+|function-\w+\[.*\]|int|float|str|bool)$")


def field_name(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc
                    if not (isinstance(part, str) and UNION_MEMBER.match(part)))


def field_errors(problems: Sequence[Any]) -> list[FieldError]:
    """One error per field: of a union's members, the last one's message (the most precise)."""
    by_field = {field_name(p["loc"]): p["msg"] for p in problems}
    return [FieldError(field=field, message=message) for field, message in by_field.items()]


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    if any(p.get("type") == "json_invalid" for p in problems):
        where = next(p for p in problems if p.get("type") == "json_invalid")
        message = where.get("ctx", {}).get("error", "invalid JSON")
        return error_response(request, 400, "malformed_json",
                              f"The request body is not valid JSON: {message}.",
                              [FieldError(field="body", message=str(message))])
    errors = field_errors(problems)
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
