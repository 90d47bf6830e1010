"""What routes declare they need: the context, the caller's project, the admin."""

import math
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.context import Context
from service.errors import RateLimited, Unauthorized
from service.projects import service as projects
from service.projects import throttle
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


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate(request: Request, ctx: ContextDep, credentials: Credentials) -> Project:
    """The caller's project; each key gets its own rate limit, each address a limit on
    wrong keys."""
    secret, address = secret_of(credentials), client_address(request)
    throttle.check(ctx, address)
    try:
        project, key = projects.authenticate(ctx, secret)
    except Unauthorized:
        throttle.record_failure(ctx, address)
        raise
    request.state.project_id = project.id
    per_minute = ctx.settings.rate_limit_per_minute
    wait = Bucket(ctx.redis, f"key:{key.id}", per_minute, capacity=per_minute).take()
    if wait > 0:
        raise RateLimited(max(1, math.ceil(wait)))
    return project


def authenticate_admin(request: Request, ctx: ContextDep, credentials: Credentials) -> None:
    secret, address = secret_of(credentials), client_address(request)
    throttle.check(ctx, address)
    if not projects.is_admin(ctx, secret):
        throttle.record_failure(ctx, address)
        raise Unauthorized("This route needs the admin key.",
                           headers={"WWW-Authenticate": "Bearer"})


ProjectDep = Annotated[Project, Depends(authenticate)]
AdminDep = Annotated[None, Depends(authenticate_admin)]
