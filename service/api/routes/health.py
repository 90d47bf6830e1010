from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.deps import ContextDep
from service.api.problems import problem
from service.operations import is_redis_reachable, refresh_gauges

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(ctx: ContextDep) -> dict[str, object] | Response:
    checks = {"redis": is_redis_reachable(ctx), "storage": ctx.storage.is_reachable()}
    if not all(checks.values()):
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        return problem(503, "not_ready", f"Not reachable: {failing}.")
    return {"status": "ready", "checks": checks}


@router.get("/metrics", include_in_schema=False)
def metrics(ctx: ContextDep) -> Response:
    refresh_gauges(ctx)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
