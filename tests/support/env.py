"""Paths, keys and settings every test area uses."""

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
PUBLIC_DATA = SHARED_DATA / "public"
if (SHARED_DATA / "tiktoken_cache").is_dir():  # tiktoken offline, before anything imports it
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED_DATA / "tiktoken_cache"))

EMULATOR_KEY = "sk-emulator-test-0123456789"
ADMIN_KEY = "test-admin-key-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
MODEL = "gpt-4o-mini-2024-07-18"
TERMINAL = ("succeeded", "failed", "cancelled")
LOCAL_RECEIVERS = {"webhook_allowed_targets": ["127.0.0.1/32"]}  # test receivers listen locally


def make_settings(redis_url: str, data_dir: Path, **overrides: object) -> "Settings":
    from service.settings import Settings

    values: dict[str, object] = {"redis_url": redis_url, "data_dir": data_dir,
                                 "admin_key": ADMIN_KEY, "log_level": "WARNING"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def emulator_settings(emulator: str, **more: object) -> dict[str, object]:
    """Settings overrides pointing the service at the emulator (…/v1), retrying and syncing fast."""
    return {"openai_base_url": emulator, "openai_api_key": EMULATOR_KEY,
            "openai_retry_base_seconds": 0.01, "sync_interval_running_seconds": 0.05,
            "sync_interval_queued_seconds": 0.05, **more}


def worker_env(settings: "Settings", emulator: str, **extra: str) -> dict[str, str]:
    """The environment of a `python -m worker` subprocess sharing this test's Redis."""
    return {**os.environ, "FTM_REDIS_URL": settings.redis_url,
            "FTM_DATA_DIR": str(settings.data_dir),
            "FTM_ADMIN_KEY": settings.admin_key.get_secret_value(), "OPENAI_BASE_URL": emulator,
            "OPENAI_API_KEY": EMULATOR_KEY, "FTM_LOG_LEVEL": "WARNING",
            "FTM_OPENAI_RETRY_BASE_SECONDS": "0.01", **extra}


# Fixed credentials for moto; pointing the config files nowhere keeps a developer's own out.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
