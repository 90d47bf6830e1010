"""The emulator's ASGI app: routers, OpenAI-shaped errors, the gate and the ticker."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from emulator import admin, batches, chat, embeddings, files, fine_tuning, models, tokens
from emulator.catalog import CL100K, O200K
from emulator.errors import APIError, error_response
from emulator.faults import Gate
from emulator.state import Settings, State, now

TICK_SECONDS = 0.05


def settle_due(state: State, at: float) -> None:
    """Record the end of every job and batch whose time has come."""
    for kind, resource_id in state.pop_due(at):
        if kind == "job" and resource_id in state.jobs:
            job = state.jobs[resource_id]
            if not fine_tuning.settle_job(state, job, at):
                fine_tuning.reschedule(state, job)
        elif kind == "batch" and resource_id in state.batches:
            batch = state.batches[resource_id]
            if not batches.settle(state, batch, at):
                state.schedule(max(at, batch.ends_at()) + TICK_SECONDS, "batch", resource_id)


async def tick(state: State) -> None:
    """Settles ended work even when nobody asks, so webhooks go out on time."""
    while True:
        await asyncio.sleep(TICK_SECONDS)
        settle_due(state, now())


def create_app(settings: Settings) -> FastAPI:
    state = State(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ticker = asyncio.create_task(tick(state))
        for encoding in (O200K, CL100K):
            asyncio.get_running_loop().run_in_executor(None, tokens.load, encoding)
        yield
        ticker.cancel()

    app = FastAPI(title="OpenAI emulator", lifespan=lifespan, openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.state.emulator = state
    for module in (files, fine_tuning, models, chat, embeddings, batches, admin):
        app.include_router(module.router)
    app.add_exception_handler(APIError, on_api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_middleware(Gate, state=state, settle=settle_due)
    return app


async def on_api_error(request: Request, exc: APIError) -> JSONResponse:
    return exc.response()


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    param = ".".join(str(part) for part in first["loc"][1:]) or None
    return error_response(400, f"Invalid request: {first['msg']} ({param}).", param=param,
                          code="invalid_value")


async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        return error_response(404, f"Invalid URL ({where})")
    if exc.status_code == 405:
        return error_response(405, f"Not allowed to {where}.")
    return error_response(exc.status_code, str(exc.detail))
