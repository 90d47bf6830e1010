"""What routes declare they need: the context, the caller's project, the admin."""

import math
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.callers import Callers
from service.context import Context
from service.errors import RateLimited, Unauthorized
from service.projects import service as projects
from service.projects import throttle
from service.projects.models import Project

bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def get_context(request: Request) -> Context:
    return request.app.state.context  # type: ignore[no-any-return]


async def get_callers(request: Request) -> Callers:
    return request.app.state.callers  # type: ignore[no-any-return]


ContextDep = Annotated[Context, Depends(get_context)]
CallersDep = Annotated[Callers, Depends(get_callers)]


def secret_of(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.",
                           headers={"WWW-Authenticate": "Bearer"})
    return credentials.credentials


async def authenticate(request: Request, credentials: Credentials) -> Project:
    """The caller's project; each key gets its own rate limit, each address a limit on wrong
    keys.

    A remembered key with tokens in this process's lease costs no Redis round trip and no
    thread (an ageing one is read again in the background); otherwise the lookups and the
    address's allowance are made, one request per secret at a time so the others find what
    it refreshed.
    """
    ctx: Context = request.app.state.context
    callers: Callers = request.app.state.callers
    secret = secret_of(credentials)
    admitted = callers.admitted(secret)
    if admitted is None:
        async with callers.gates.of(secret):
            admitted = callers.admitted(secret)  # refreshed while this one waited
            if admitted is None:
                project, key_id, wait = await look_up(request, ctx, callers, secret)
                request.state.project_id = project.id
                if wait > 0:
                    raise RateLimited(max(1, math.ceil(wait)))
                admitted = project, key_id
    else:
        callers.refresh_ahead(request.app.state.async_redis, ctx, secret, admitted[1])
    project, key_id = admitted
    request.state.project_id = project.id
    request.state.rate_headers = callers.limits.headers(key_id, ctx.settings.rate_limit_per_minute)
    return project


async def caller_project(request: Request) -> Project:
    """authenticate() called by a route itself: the hottest reads skip FastAPI's dependency
    resolution and declare BEARER in their OpenAPI operation instead."""
    return await authenticate(request, await bearer(request))


BEARER: dict[str, Any] = {"security": [{"HTTPBearer": []}]}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def look_up(request: Request, ctx: Context, callers: Callers,
                  secret: str) -> tuple[Project, str, float]:
    """The address's allowance, the key and a token from the shared bucket, on the event loop
    (the asyncio client the app's lifespan opens)."""
    client = request.app.state.async_redis
    address = client_address(request)
    await throttle.check_on_loop(client, ctx, address)
    try:
        project, key = await callers.keys.resolve_on_loop(client, secret)
    except Unauthorized:
        await throttle.record_failure_on_loop(client, ctx, address)
        raise
    return project, key.id, await callers.limits.take_on_loop(client, ctx, key.id)


def authenticate_admin(request: Request, ctx: ContextDep, credentials: Credentials) -> None:
    secret, address = secret_of(credentials), client_address(request)
    throttle.check(ctx, address)
    if not projects.is_admin(ctx, secret):
        throttle.record_failure(ctx, address)
        raise Unauthorized("This route needs the admin key.",
                           headers={"WWW-Authenticate": "Bearer"})


ProjectDep = Annotated[Project, Depends(authenticate)]
AdminDep = Annotated[None, Depends(authenticate_admin)]
