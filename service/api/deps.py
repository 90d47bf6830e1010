"""What routes declare they need: the context, the caller's project, the admin."""

import math
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.context import Context
from service.errors import RateLimited, Unauthorized
from service.projects import service as projects
from service.projects.models import Project
from service.store.buckets import Bucket

bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def get_context(request: Request) -> Context:
    return request.app.state.context  # type: ignore[no-any-return]


ContextDep = Annotated[Context, Depends(get_context)]


def secret_of(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.",
                           headers={"WWW-Authenticate": "Bearer"})
    return credentials.credentials


def authenticate(request: Request, ctx: ContextDep, credentials: Credentials) -> Project:
    """The caller's project; each key gets its own rate limit."""
    project, key = projects.authenticate(ctx, secret_of(credentials))
    request.state.project_id = project.id
    per_minute = ctx.settings.rate_limit_per_minute
    bucket = Bucket(ctx.redis, f"key:{key.id}", per_minute, capacity=per_minute)
    wait = bucket.take()
    if wait > 0:
        raise RateLimited(max(1, math.ceil(wait)))
    request.state.rate_headers = rate_headers(bucket, per_minute)
    return project


def rate_headers(bucket: Bucket, per_minute: int) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers for the key's request budget."""
    left = bucket.remaining()
    return {"x-ratelimit-limit-requests": str(per_minute),
            "x-ratelimit-remaining-requests": str(math.floor(left)),
            "x-ratelimit-reset-requests": f"{math.ceil((per_minute - left) / bucket.rate)}s"}


def authenticate_admin(ctx: ContextDep, credentials: Credentials) -> None:
    if not projects.is_admin(ctx, secret_of(credentials)):
        raise Unauthorized("This route needs the admin key.",
                           headers={"WWW-Authenticate": "Bearer"})


ProjectDep = Annotated[Project, Depends(authenticate)]
AdminDep = Annotated[None, Depends(authenticate_admin)]
