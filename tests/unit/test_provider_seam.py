"""The provider seam, read from the source tree: outside service/provider/ no module imports an
SDK of a provider nor reaches past `ctx.provider` to a client or to the gateway's policy."""

import ast
from pathlib import Path

from tests.support.env import ROOT

PROVIDER_PACKAGE = ROOT / "service" / "provider"
SOURCE_TREES = ("service", "worker", "ftm", "devtools", "bench")
SDKS = ("openai",)
PROVIDER_NAMES = ("gateway", "provider")


def imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [node.module] if node.level == 0 and node.module else []


def last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def leaks(source: str) -> list[str]:
    """What the source does that only the provider package may: each leak with its line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found += [(node.lineno, f"imports {module}") for module in imported_modules(node)
                      if module.split(".")[0] in SDKS]
        elif isinstance(node, ast.Attribute) and node.attr == "gateway":
            found.append((node.lineno, "uses the gateway (ask ctx.provider)"))
        elif (isinstance(node, ast.Attribute) and node.attr == "client"
              and last_name(node.value) in PROVIDER_NAMES):
            found.append((node.lineno, "uses the provider's SDK client"))
    return [f"line {line}: {leak}" for line, leak in sorted(found)]


def modules_outside_the_provider() -> list[Path]:
    paths = [path for tree in SOURCE_TREES for path in sorted((ROOT / tree).rglob("*.py"))]
    return [path for path in paths if not path.is_relative_to(PROVIDER_PACKAGE)]


def test_no_module_outside_the_provider_package_touches_the_sdk():
    modules = modules_outside_the_provider()
    assert len(modules) > 50  # the walk found the source tree
    found = {str(path.relative_to(ROOT)): leaks(path.read_text()) for path in modules}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_the_check_sees_each_kind_of_leak():
    source = ("import openai\n"
              "from openai.types import Batch\n"
              "ctx.gateway.call(ctx.gateway.client.files.delete, 'file-1')\n"
              "provider.client.models.list()\n")
    assert leaks(source) == [
        "line 1: imports openai",
        "line 2: imports openai.types",
        "line 3: uses the gateway (ask ctx.provider)",
        "line 3: uses the gateway (ask ctx.provider)",
        "line 3: uses the provider's SDK client",
        "line 4: uses the provider's SDK client",
    ]


def test_the_check_lets_other_clients_and_providers_methods_pass():
    source = ("import redis\n"
              "self.client.get_object(Bucket='b', Key='k')\n"
              "ctx.provider.delete_file('file-1')\n"
              "request.client.host\n")
    assert leaks(source) == []
