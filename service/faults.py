"""Fault points: a test can make a worker die (SIGKILL) at a named line, once."""

import os
import signal

from service.context import Context
from service.store import flags, keys


def point(ctx: Context, name: str) -> None:
    """Die here if FTM_FAULT_POINTS names this point and it has not fired yet."""
    if name not in ctx.settings.fault_points:
        return
    if flags.raise_once(ctx.redis, keys.fault_fired(name)):
        os.kill(os.getpid(), signal.SIGKILL)
