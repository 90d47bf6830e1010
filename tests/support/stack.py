"""The whole stack as `make run` starts it (devtools.run), and the README that walks through it."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from devtools.redis_server import free_port
from tests.support.env import ROOT

README = ROOT / "README.md"


BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)


README_URL = "http://127.0.0.1:8000"


# Each curl fails on an HTTP error status, unless it prints the status itself (-w).
PRELUDE = """set -euo pipefail
curl() {
  case " $* " in
    *" -w "*) command curl "$@" ;;
    *) command curl --fail-with-body --show-error "$@" ;;
  esac
}
"""


@dataclass
class Stack:
    process: subprocess.Popen[str]
    data_dir: Path
    lines: list[str] = field(default_factory=list)

    def line(self, prefix: str) -> str | None:
        return next((line.removeprefix(prefix) for line in list(self.lines)
                     if line.startswith(prefix)), None)

    def descendants(self) -> set[psutil.Process]:
        try:
            return set(psutil.Process(self.process.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return set()


@contextmanager
def make_run(work: Path, command: tuple[str, ...] = (sys.executable, "-m", "devtools.run"),
             cwd: Path = ROOT, env: dict[str, str] | None = None, start_timeout: float = 180,
             stopped: tuple[int, ...] = (0,)) -> Iterator[Stack]:
    """devtools.run on free ports with its own Redis and data dir; stopped with Ctrl-C after.
    `command` may be another way in (`make run`), which exits with one of `stopped`."""
    env = {**(os.environ if env is None else env), "FTM_HOST": "127.0.0.1",
           "FTM_PORT": str(free_port()), "FTM_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
           "FTM_DATA_DIR": str(work / "data"), "FTM_EMULATOR_SPEED": "50",
           "PYTHONUNBUFFERED": "1"}
    for name in [n for n in env if n.startswith(("OPENAI_", "FTM_SYNC_"))] + ["FTM_ADMIN_KEY"]:
        env.pop(name, None)
    # A session of its own, as a terminal's foreground job: Ctrl-C is SIGINT to its group.
    process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    stack = Stack(process, work / "data")
    threading.Thread(target=read_lines, args=(process, stack.lines), daemon=True).start()
    seen: set[psutil.Process] = set()
    try:
        deadline = time.monotonic() + start_timeout
        while stack.line("API key: ") is None:
            assert process.poll() is None, "devtools.run exited:\n" + "".join(stack.lines)
            assert time.monotonic() < deadline, "no API key line:\n" + "".join(stack.lines)
            time.sleep(0.2)
        seen |= stack.descendants()
        yield stack
        seen |= stack.descendants()
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(60) in stopped, "".join(stack.lines[-30:])
        left = [p for p in seen if is_alive(p)]
        assert not left, f"still running after Ctrl-C: {[p.cmdline() for p in left]}"
    finally:
        seen |= stack.descendants()
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for leftover in seen:
            if is_alive(leftover):
                leftover.kill()


def read_lines(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    lines.extend(process.stdout)  # drained as it comes, so the stack never blocks on its pipe


def is_alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def port_of(stack: Stack) -> str:
    api = stack.line("API: ")
    assert api is not None
    return api.strip().removesuffix("/v1").rsplit(":", 1)[1]


CONVERT = {
    "name": "reflections-chat", "system": "Define the best level for reflection.",
    "user": 'Question: """{Question}"""\nReflection: """{Answers}"""', "assistant": "{Final}",
    "value_maps": {"Final": {"1": "No-Reflection", "2": "Understanding",
                             "3": "Simple Reflection", "4": "Critical Reflection"}},
    "on_empty": "skip"}
