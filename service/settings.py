"""Configuration from the environment (FTM_ prefix; OpenAI's variables as the SDK names them)."""

import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FTM_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    redis_url: str = "redis://127.0.0.1:6379/0"
    data_dir: Path = Path("data")
    admin_key: SecretStr = Field(min_length=16)
    log_level: str = "INFO"

    storage: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_prefix: str = "datasets/"

    max_upload_bytes: int = Field(512 * 2**20, gt=0)
    upload_max_seconds: int = Field(3600, gt=0, description="the longest an upload may take: "
                                    "a partial upload file unwritten this long is removed")
    max_line_bytes: int = Field(8 * 2**20, gt=0)
    max_body_bytes: int = Field(2 * 2**20, gt=0)
    max_url_bytes: int = Field(8192, gt=0, description="path and query string together")
    max_header_bytes: int = Field(32 * 1024, gt=0, description="all request headers together")
    max_header_count: int = Field(100, gt=0)
    body_idle_timeout_seconds: float = Field(30.0, gt=0, description=(
        "longest wait for the next piece of a request body; after it, the body must also "
        "have come at body_min_bytes_per_second on average"))
    body_min_bytes_per_second: int = Field(1024, ge=0)
    rate_limit_per_minute: int = Field(600, gt=0)
    auth_failures_per_window: int = Field(20, gt=0, description="wrong keys per client address")
    auth_failure_window_seconds: int = Field(300, gt=0)
    key_cache_seconds: float = Field(0.5, ge=0, lt=1, description=(
        "how long a process remembers a resolved API key; a key revoked elsewhere stops "
        "working within it"))
    inline_validation_bytes: int = Field(8 * 2**20, ge=0,
                                         description="derived datasets this small validate at once")
    tiktoken_cache_dir: Path | None = Field(
        None, description="tiktoken's encoding files (sets TIKTOKEN_CACHE_DIR at start-up)")
    report_workers: int = Field(0, ge=0, description="processes for token counting; 0 = cores")

    default_model: str = "gpt-4o-mini-2024-07-18"
    tunable_models: list[str] = [
        "gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-4.1-2025-04-14",
        "gpt-4.1-mini-2025-04-14", "gpt-4.1-nano-2025-04-14", "gpt-3.5-turbo-0125",
        "gpt-3.5-turbo-1106", "gpt-3.5-turbo",
    ]
    chat_models: list[str] = ["gpt-4o-mini-2024-07-18", "gpt-4o-mini", "gpt-4o-2024-08-06",
                              "gpt-4.1-mini-2025-04-14", "gpt-3.5-turbo"]
    embedding_models: list[str] = ["text-embedding-3-small", "text-embedding-3-large",
                                   "text-embedding-ada-002"]
    price_table: Path = REPO_ROOT / "service" / "datasets" / "prices.json"
    project_budget_usd: float | None = None

    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    openai_org_id: str | None = Field(None, validation_alias="OPENAI_ORG_ID")
    openai_webhook_secret: SecretStr | None = Field(None, validation_alias="OPENAI_WEBHOOK_SECRET")
    openai_requests_per_minute: int = Field(3000, gt=0)
    openai_timeout_seconds: float = Field(30.0, gt=0)
    openai_max_retries: int = Field(4, ge=0)
    openai_retry_base_seconds: float = Field(0.5, ge=0)
    provider_retry_seconds: float = Field(
        10.0, gt=0, description="after the gateway's retries give up: a launch tries again this "
        "long after, a sync this long doubled per failure (up to 5 min)")
    openai_upload_part_bytes: int = Field(64 * 2**20, gt=0)
    openai_uploads_api_above_bytes: int = Field(256 * 2**20, gt=0)

    sync_interval_running_seconds: float = Field(5.0, gt=0)
    sync_interval_queued_seconds: float = Field(20.0, gt=0)
    sync_sweep_seconds: int = Field(2, gt=0)
    stall_seconds: int = Field(1800, gt=0)
    reconcile_seconds: int = Field(300, gt=0)
    provider_file_retention_seconds: int | None = Field(
        None, ge=0, description="delete datasets' provider files this long after their last job "
        "ended; unset keeps them")
    launch_lock_seconds: int = Field(30, gt=0, description="a launch's lock, renewed while it "
                                     "runs: how long a crashed launch blocks its recovery")
    provider_missing_grace_seconds: int = Field(
        600, ge=0, description="a provider job answering 404 this long fails its job")
    file_processing_timeout_seconds: float = Field(600, gt=0)
    webhook_max_attempts: int = Field(8, ge=1, description="delivery attempts before failed")
    webhook_retry_base_seconds: float = Field(5.0, gt=0, description="first retry delay")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="one delivery attempt's limit")
    webhook_allowed_targets: list[str] = Field(
        [], description="CIDRs or host names webhooks may reach besides public addresses")
    evaluation_lock_seconds: int = Field(30, gt=0, description="a run's lease, renewed as it runs")
    evaluation_slice_seconds: float = Field(600.0, gt=0, description="online runs re-queue after")
    evaluation_batch_poll_seconds: float = Field(30.0, gt=0, description="provider batch checks")
    evaluation_batch_max_requests: int = Field(50_000, gt=0, description="per provider batch")
    metrics_token: SecretStr | None = Field(
        None, description="bearer token /metrics (API and worker) asks for; unset: open")
    worker_metrics_port: int | None = Field(
        None, ge=0, le=65535, description="port of the worker's /metrics; unset: none")
    worker_metrics_host: str = Field("127.0.0.1", description="address the worker's /metrics "
                                     "listens on (0.0.0.0 in a container)")
    max_datasets_awaiting_validation: int = Field(
        100, gt=0, description="per project; more uploads answer 429 validation_backlog")
    validation_lease_seconds: float = Field(30, gt=0, description="a validation's lock, renewed "
                                            "as it runs: how long a killed one blocks a retry")
    validation_overdue_seconds: float = Field(300, gt=0, description="a queued validation not "
                                              "started by then counts as lost and is queued again")
    sweeps_stale_seconds: int = Field(60, gt=0, description="a worker whose sweep loop has not "
                                      "beaten for this long fails its health check")
    fault_points: list[str] = Field([], description="test only: points where a worker dies once")

    @field_validator("openai_api_key", "openai_base_url", "openai_org_id", "openai_webhook_secret",
                     "metrics_token", "s3_bucket", "s3_endpoint_url", mode="before")
    @classmethod
    def empty_is_unset(cls, value: object) -> object:
        """`VAR=` (as compose passes `${VAR:-}`) means unset, not an empty URL or key."""
        return None if value == "" else value


def load_settings() -> Settings:
    """Settings from the environment; a bad value stops start-up with one line naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "FTM_" + "_".join(str(p) for p in first["loc"]).upper()
        sys.exit(f"configuration error: {name}: {first['msg']}")
