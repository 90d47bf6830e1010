"""The HTTP application: one router per resource, shared conventions in middleware and handlers."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from service import __version__, logs, tracing
from service.api import middleware, openapi, outbound, problems
from service.api.callers import Callers
from service.api.routes import (
    admin,
    console,
    datasets,
    evaluations,
    health,
    jobs,
    models,
    pipelines,
    playground,
    providers,
    webhooks,
)
from service.context import Context, async_client, build_context
from service.errors import ServiceError
from service.settings import Settings, load_settings

DESCRIPTION = ("Runs the OpenAI fine-tuning workflow as a service: datasets in, validated and "
               "priced; jobs launched exactly once and followed to the end; evaluations; "
               "a playground; clean-up.")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    logs.configure(settings.log_level)
    holder: dict[str, Context] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.async_redis = async_client(settings)  # made on the loop that will use it
        gc.collect()
        gc.freeze()  # what start-up built lives on: later collections need not walk it again
        yield
        await app.state.async_redis.aclose()
        holder["context"].redis.close()

    # FastAPI's own telemetry is off: it would look up the global OpenTelemetry providers on
    # every request; traces come from service.tracing when asked for.
    app = FastAPI(title="finetune-manager", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, generate_unique_id_function=openapi.operation_id,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    holder["context"] = app.state.context = build_context(settings)
    app.state.callers = Callers(settings.key_cache_seconds)
    for router in (health.router, admin.router, datasets.router, jobs.router, webhooks.router,
                   providers.router, models.router, playground.router):
        app.include_router(router)
    app.include_router(evaluations.router)
    app.include_router(pipelines.router)
    app.include_router(console.router)
    outbound.register(app)
    openapi.install(app)
    app.add_exception_handler(ServiceError, problems.on_service_error)
    app.add_exception_handler(RequestValidationError, problems.on_validation_error)
    app.add_exception_handler(HTTPException, problems.on_http_error)
    app.add_exception_handler(Exception, problems.on_unexpected)

    def context() -> Context:
        return holder["context"]

    app.add_middleware(middleware.Edge, context=context)
    tracing.configure("finetune-manager-api")
    tracing.instrument_app(app)
    return app
