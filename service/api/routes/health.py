from typing import Literal

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from service.api.deps import ContextDep
from service.api.problems import problem
from service.operations import is_redis_reachable, refresh_gauges

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, bool] = Field(description="Each dependency: reachable or not.")


@router.get("/healthz")
def check_health() -> Health:
    """The process is up."""
    return Health()


@router.get("/readyz", response_model=Readiness)
def check_readiness(ctx: ContextDep) -> Readiness | Response:
    """Redis and storage are reachable."""
    checks = {"redis": is_redis_reachable(ctx), "storage": ctx.storage.is_reachable()}
    if not all(checks.values()):
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        return problem(503, "not_ready", f"Not reachable: {failing}.")
    return Readiness(checks=checks)


@router.get("/metrics", include_in_schema=False)
def metrics(ctx: ContextDep) -> Response:
    refresh_gauges(ctx)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
