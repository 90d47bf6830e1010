"""Opaque ids with a type prefix: ds_, job_, eval_, pipe_, wh_, key_, proj_."""

import secrets

PREFIXES = {"dataset": "ds", "job": "job", "evaluation": "eval", "pipeline": "pipe",
            "webhook": "wh", "key": "key", "project": "proj", "delivery": "whd",
            "request": "req", "event": "evt"}


def new_id(kind: str) -> str:
    return f"{PREFIXES[kind]}_{secrets.token_hex(12)}"
