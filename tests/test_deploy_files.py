"""Dockerfile, .dockerignore and docker-compose.yml against the package they install (no Docker
here): what they copy exists and reaches the build, what they run is in the built wheel (a console
script, a module, or a module of a declared dependency), what they set is a known setting."""

import ast
import re
import shlex
import sys
import tomllib
import zipfile
from email.parser import Parser
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

from tests.support.dockerfile import exec_form, ignored, instructions
from tests.support.env import ROOT


class Wheel:
    """What `uv build` makes of the project: its files, console scripts and requirements."""

    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            self.names = set(archive.namelist())
            info = next(n.split("/")[0] for n in self.names if n.endswith(".dist-info/METADATA"))
            entry_points = archive.read(f"{info}/entry_points.txt").decode()
            metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        section = entry_points.split("[console_scripts]", 1)[1].split("\n[", 1)[0]
        self.scripts = {line.split("=")[0].strip() for line in section.splitlines() if "=" in line}
        self.requires = {normalize(re.split(r"[ ;<>=!~\[(]", line, maxsplit=1)[0])
                         for line in metadata.get_all("Requires-Dist") or []}

    def has_module(self, module: str, runnable: bool = False) -> bool:
        path = module.replace(".", "/")
        if runnable:
            return f"{path}.py" in self.names or f"{path}/__main__.py" in self.names
        return f"{path}.py" in self.names or f"{path}/__init__.py" in self.names

    def provides(self, module: str, runnable: bool = False) -> bool:
        """In the wheel, the standard library, or a distribution the wheel requires."""
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or self.has_module(module, runnable):
            return True
        return any(normalize(dist) in self.requires
                   for dist in packages_distributions().get(top, []))


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def wheel(wheel_file: Path) -> Wheel:
    return Wheel(wheel_file)


def compose_services() -> dict[str, dict]:
    """The services built from this repository's Dockerfile (not redis)."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return {name: service for name, service in services.items() if "build" in service}


def commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of everything the image and compose run in the project's image."""
    found = [(f"Dockerfile {name}", exec_form(args)) for name, args in instructions()
             if name in ("CMD", "HEALTHCHECK", "ENTRYPOINT")]
    for name, service in compose_services().items():
        if "command" in service:
            found.append((f"compose {name} command", argv(service["command"])))
        test = service.get("healthcheck", {}).get("test")
        if test:
            found.append((f"compose {name} healthcheck", health_argv(test)))
    return found


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def health_argv(test: str | list[str]) -> list[str]:
    if isinstance(test, str):
        return shlex.split(test)
    if test[0] == "CMD-SHELL":
        return shlex.split(test[1])
    return [str(a) for a in test[1:]] if test[0] == "CMD" else [str(a) for a in test]


def check_command(wheel: Wheel, where: str, args: list[str]) -> None:
    program = args[0]
    if program in ("python", "python3"):
        if args[1] == "-m":
            assert wheel.provides(args[2], runnable=True), f"{where}: no module {args[2]}"
        elif args[1] == "-c":
            for module in imported(args[2]):
                assert wheel.provides(module), f"{where}: imports {module}, which nothing installs"
        else:
            assert args[1] in copied_paths(), f"{where}: runs {args[1]}, which is not copied"
    else:
        assert program in wheel.scripts, f"{where}: {program} is not a console script"


def imported(code: str) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.append(node.module)
    return modules


def copied_paths() -> list[str]:
    sources = [args.split()[:-1] for name, args in instructions()
               if name == "COPY" and "--from" not in args]
    return [source for group in sources for source in group if not source.startswith("--")]


def test_every_copied_path_exists_and_is_not_ignored():
    for source in copied_paths():
        assert (ROOT / source).exists(), f"COPY {source}: no such path"
        assert not ignored(source), f"COPY {source}: .dockerignore leaves it out"


def test_the_build_copies_what_hatchling_reads_before_installing_the_project():
    steps = instructions()
    install = next(i for i, (name, args) in enumerate(steps)
                   if name == "RUN" and "uv sync" in args and "--no-install-project" not in args)
    for flag in ("--frozen", "--no-dev", "--extra s3", "--extra otel"):
        assert flag in steps[install][1], flag
    before = [source for name, args in steps[:install] if name == "COPY" and "--from" not in args
              for source in args.split()[:-1]]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    hatch = project["tool"]["hatch"]
    needed = ["pyproject.toml", "uv.lock", project["project"]["readme"], hatch["version"]["path"],
              *hatch["build"]["targets"]["wheel"]["packages"]]
    for path in needed:
        assert any(path == s or path.startswith(f"{s}/") for s in before), f"{path} not copied"
        assert not ignored(path), f"{path}: .dockerignore leaves it out"


def test_every_command_is_in_the_built_wheel(wheel: Wheel):
    found = commands()
    ran = {args[0] for _, args in found}
    assert {"ftm-api", "ftm-worker"} <= ran, "the image and compose run the installed scripts"
    assert {"ftm", "ftm-api", "ftm-worker"} <= wheel.scripts
    for where, args in found:
        check_command(wheel, where, args)
    for name, args in instructions():
        if name == "RUN" and "python" in args and ".py" in args:  # e.g. the encodings step
            script = next(word for word in args.split() if word.endswith(".py"))
            assert script in copied_paths(), f"RUN {args}: {script} is not copied"


def test_the_checks_catch_what_is_missing(wheel: Wheel):
    for args in (["ftm-worker", "--check"], ["python", "-m", "worker", "--check"],
                 ["python", "-m", "uvicorn", "--help"], ["python", "-c", "import redis, os"]):
        check_command(wheel, "made up", args)
    for args in (["ftm-nope"], ["python", "-m", "service.nope"], ["python", "-m", "service"],
                 ["python", "-c", "import boto4"], ["python", "deploy/nope.py"]):
        with pytest.raises(AssertionError):
            check_command(wheel, "made up", args)
    assert ignored(".venv/bin/python")
    assert not ignored("ftm/cli.py")


def test_compose_sets_only_settings_the_service_knows():
    from service.settings import Settings

    known = {f"FTM_{name.upper()}" for name in Settings.model_fields}
    known |= {str(f.validation_alias) for f in Settings.model_fields.values() if f.validation_alias}
    services = compose_services()
    assert set(services) >= {"api", "worker"}
    for name, service in services.items():
        environment = service.get("environment", {})
        names = environment if isinstance(environment, dict) else [
            item.split("=", 1)[0] for item in environment]
        unknown = [n for n in names if n not in known and not n.startswith("OTEL_")]
        assert unknown == [], f"compose {name}: {unknown} are not settings"
    image_env = [pair.split("=", 1)[0] for name, args in instructions() if name == "ENV"
                 for pair in args.split()]
    assert [n for n in image_env if n.startswith("FTM_") and n not in known] == []
