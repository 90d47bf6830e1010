import hmac
from typing import Literal

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from service.api.deps import ContextDep, Credentials, secret_of
from service.api.problems import problem
from service.datasets.tokens import unavailable_encodings
from service.errors import Unauthorized
from service.operations import cluster_metrics, is_redis_reachable

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
    """Redis, storage and the tokenizer's encoding files are reachable."""
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
    return Readiness(checks=checks)


def check_metrics_token(ctx: ContextDep, credentials: Credentials) -> None:
    token = ctx.settings.metrics_token
    expected = token.get_secret_value() if token is not None else ""  # empty: unset
    if expected and not hmac.compare_digest(secret_of(credentials).encode(), expected.encode()):
        raise Unauthorized("/metrics needs FTM_METRICS_TOKEN as a bearer token.",
                           headers={"WWW-Authenticate": "Bearer"})


@router.get("/metrics", include_in_schema=False)
def metrics(ctx: ContextDep, credentials: Credentials) -> Response:
    """This process's own series: scrape every replica."""
    check_metrics_token(ctx, credentials)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/metrics/cluster", include_in_schema=False)
def metrics_cluster(ctx: ContextDep, credentials: Credentials) -> Response:
    """Gauges of the whole deployment, read from Redis: scrape one address, not each replica."""
    check_metrics_token(ctx, credentials)
    return Response(cluster_metrics(ctx), media_type=CONTENT_TYPE_LATEST)
