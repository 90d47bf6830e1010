from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.deps import ContextDep
from service.api.problems import problem
from service.datasets.tokens import unavailable_encodings
from service.operations import is_redis_reachable, refresh_gauges

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(ctx: ContextDep) -> dict[str, object] | Response:
    settings = ctx.settings
    no_tokenizer = unavailable_encodings([settings.default_model, *settings.tunable_models])
    checks = {"redis": is_redis_reachable(ctx), "storage": ctx.storage.is_reachable(),
              "tokenizer": not no_tokenizer}
    if not all(checks.values()):
        failing = [name for name in ("redis", "storage") if not checks[name]]
        if no_tokenizer:
            failing.append(f"tokenizer ({', '.join(no_tokenizer)}: set FTM_TIKTOKEN_CACHE_DIR "
                           "to a directory holding its files)")
        return problem(503, "not_ready", f"Not ready: {'; '.join(failing)}.")
    return {"status": "ready", "checks": checks}


@router.get("/metrics", include_in_schema=False)
def metrics(ctx: ContextDep) -> Response:
    refresh_gauges(ctx)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
