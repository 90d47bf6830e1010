"""The one source of time: Unix seconds."""

import time


def now() -> int:
    return int(time.time())


def now_precise() -> float:
    return time.time()
