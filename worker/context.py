"""The worker's Context, built on its first task and reused after."""

from functools import cache

from service import logs
from service.context import Context, build_context
from service.settings import load_settings


@cache
def current_context() -> Context:
    settings = load_settings()
    logs.configure(settings.log_level)
    return build_context(settings)
