"""The worker's Context, built on its first task and reused after."""

from service import logs
from service.context import Context, build_context
from service.settings import load_settings

_context: Context | None = None


def current_context() -> Context:
    global _context
    if _context is None:
        settings = load_settings()
        logs.configure(settings.log_level)
        _context = build_context(settings)
    return _context


def use_context(ctx: Context) -> None:
    """Run tasks in this process with ctx (an in-process worker, as the tests use)."""
    global _context
    _context = ctx
