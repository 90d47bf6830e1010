"""Redis is spoken only by the store (service/store/) and the domain repositories: a module
elsewhere may pass a client on (to a repository, to RQ) but issues no command itself, makes no
client and does not import redis.asyncio."""

import ast
from pathlib import Path

import pytest
import redis.commands
import redis.commands.core
from redis.client import Pipeline

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("service", "worker")
COMMANDS = frozenset(
    name for source in (redis.commands.core.CoreCommands, redis.commands.RedisModuleCommands,
                        Pipeline)
    for name in dir(source) if not name.startswith("_")
) - {"close", "reset"} | {"pipeline", "register_script"}  # closing a client is no command
# Names that end an expression holding a Redis client or a transaction.
REDIS_HOLDERS = frozenset({"redis", "async_redis", "pipe", "pipeline", "client"})
CLIENT_MAKERS = frozenset({"Redis", "StrictRedis", "from_url"})
PENDING: frozenset[str] = frozenset()  # modules allowed to wait for their repository


def may_speak_redis(relative: str) -> bool:
    parts = relative.split("/")
    return (relative.startswith("service/store/")
            or (len(parts) == 3 and parts[0] == "service" and parts[2] == "repository.py")
            or relative == "service/jobs/index.py")


def holder_name(node: ast.expr) -> str | None:
    """The last name of `ctx.redis`, `pipe`, `self.client`…"""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def is_redis_call(method: str, receiver: str | None) -> bool:
    """A command on a client or transaction, or a client made."""
    return ((method in COMMANDS and receiver in REDIS_HOLDERS)
            or (method in CLIENT_MAKERS and receiver in ("redis", "asyncio", "Redis")))


def redis_uses(source: str) -> list[str]:
    """Each command, client made or redis.asyncio import in source, as `line: what`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, holder_name(node.func.value)
            if is_redis_call(method, receiver):
                found.append(f"{node.lineno}: {receiver}.{method}()")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in CLIENT_MAKERS:
                found.append(f"{node.lineno}: {node.func.id}()")
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {alias.name}" for alias in node.names
                      if alias.name.startswith("redis.asyncio")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("redis"):
            names = [alias.name for alias in node.names]
            if (node.module or "").startswith("redis.asyncio") or "asyncio" in names:
                found.append(f"{node.lineno}: from {node.module} import {', '.join(names)}")
    return sorted(found, key=lambda line: int(line.split(":")[0]))


def modules() -> list[str]:
    return sorted(str(path.relative_to(ROOT)) for folder in SCANNED
                  for path in (ROOT / folder).rglob("*.py"))


def test_only_the_store_and_the_repositories_speak_redis() -> None:
    speaking = {relative: uses for relative in modules()
                if not may_speak_redis(relative) and relative not in PENDING
                and (uses := redis_uses((ROOT / relative).read_text()))}
    assert speaking == {}


def test_each_pending_module_still_speaks_redis() -> None:
    """A pending module that no longer speaks Redis leaves the list."""
    quiet = sorted(relative for relative in PENDING
                   if (ROOT / relative).exists()
                   and not redis_uses((ROOT / relative).read_text()))
    assert quiet == []


@pytest.mark.parametrize("source", [
    "ctx.redis.get(key)",
    "pipe.zadd(key, {item: 1})",
    "self.client.eval(SCRIPT, 1, key)",
    "ctx.redis.pipeline(transaction=False)",
    "redis.asyncio.Redis.from_url(url)",
    "redis.Redis(host='x')",
    "Redis(host='x')",
    "import redis.asyncio",
    "from redis.asyncio import Redis",
    "from redis import asyncio",
])
def test_a_command_a_client_made_or_an_asyncio_import_is_found(source: str) -> None:
    assert len(redis_uses(source)) == 1


@pytest.mark.parametrize("source", [
    "repository.save(ctx.redis, key)",
    "Queue(name, connection=ctx.redis)",
    "ctx.store.get(Job, job_id)",
    "response = client.send(request)",
    "import redis",
    "from redis.client import Pipeline",
])
def test_passing_a_client_on_or_other_calls_are_not_found(source: str) -> None:
    assert redis_uses(source) == []
