"""The Dockerfile and .dockerignore as docker reads them."""

import fnmatch
import json
import re

from tests.support.env import ROOT


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines
            if line and not line.startswith("#")]


def exec_form(args: str) -> list[str]:
    """The JSON array of a CMD or HEALTHCHECK ... CMD."""
    return list(json.loads(args[args.index("["):]))


def ignored(path: str) -> bool:
    """As docker reads .dockerignore: a path is left out if it or a folder above it matches."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    above = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    for pattern in patterns:
        if pattern.startswith("**/"):  # at any depth
            tails = ["/".join(p.split("/")[start:]) for p in above
                     for start in range(len(p.split("/")))]
            if any(fnmatch.fnmatch(tail, pattern[3:]) for tail in tails):
                return True
        elif any(fnmatch.fnmatch(p, pattern) for p in above):
            return True
    return False
