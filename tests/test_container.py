"""The image, read rather than built (no Docker here): what it copies exists and is not ignored,
its encodings step bakes every encoding the service uses and works offline, and its command and
health check, run as written (on a free port), serve and pass with JSON-only logs."""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from devtools.redis_server import free_port
from tests.factories import wait_until
from tests.support.dockerfile import exec_form, ignored, instructions
from tests.support.env import ADMIN_KEY, ROOT, SHARED_DATA

OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": ""}  # any download would fail


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[last:]


def env_of(steps: list[tuple[str, str]]) -> dict[str, str]:
    found = {}
    for name, args in steps:
        if name == "ENV":
            found.update(dict(pair.split("=", 1) for pair in args.split()))
    return found


def test_what_the_image_copies_exists_and_secrets_stay_out():
    copied = [args.split()[:-1] for name, args in instructions()
              if name == "COPY" and "--from" not in args]
    sources = [source for sources in copied for source in sources]
    assert {"pyproject.toml", "uv.lock", "service", "worker", "emulator"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source), f"{source} is copied but .dockerignore leaves it out"
    for kept_out in (".venv", "data", ".git", "data/.admin_key", ".pytest_cache",
                     "service/__pycache__", ".env", "tests"):
        assert ignored(kept_out), kept_out


def test_encodings_are_baked_and_load_offline(tmp_path: Path):
    shared = SHARED_DATA / "tiktoken_cache"
    if not shared.is_dir():
        pytest.skip("no local copy of tiktoken's files to stand in for the download")
    bake = next(args for name, args in instructions()
                if name == "RUN" and "bake_encodings.py" in args).split()
    cache = env_of(final_stage())["TIKTOKEN_CACHE_DIR"]
    assert bake[-1] == cache, "the image reads its encodings where the build wrote them"
    used = set(re.findall(r'"(\w+_base)"', (ROOT / "service/datasets/tokens.py").read_text()))
    from deploy.bake_encodings import ENCODINGS
    assert used <= set(ENCODINGS)
    target = tmp_path / "cache"
    shutil.copytree(shared, target)  # as fetched; the build stage has network access
    env = {**os.environ, **OFFLINE}
    subprocess.run([sys.executable, "deploy/bake_encodings.py", str(target)], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    check = f"import tiktoken; [tiktoken.get_encoding(n).encode('hi') for n in {ENCODINGS!r}]"
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True, capture_output=True,
                   env={**env, "TIKTOKEN_CACHE_DIR": str(target)})


def test_compose_and_the_image_run_the_installed_api():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["api"]["command"][0] == exec_form(dict(final_stage())["CMD"])[0] == "ftm-api"
    assert "access_log=False" in (ROOT / "service/api/serve.py").read_text()


@pytest.fixture
def image_command(redis_url: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The image's CMD as written (the installed console script), but on a free port."""
    port = free_port()
    command = exec_form(dict(final_stage())["CMD"])
    command[command.index("--port") + 1] = str(port)
    command[command.index("--host") + 1] = "127.0.0.1"
    env = {**os.environ, "FTM_REDIS_URL": redis_url, "FTM_ADMIN_KEY": ADMIN_KEY,
           "FTM_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(Path(sys.executable).parent / command[0]), *command[1:]],
                                   cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield port, log
    finally:
        process.terminate()
        process.wait(20)


def test_the_health_check_passes_against_the_command(image_command):
    port, log = image_command
    healthcheck = dict(final_stage())["HEALTHCHECK"]
    probe = exec_form(healthcheck)
    assert probe[0] == "python"
    assert "/healthz" in probe[-1]
    probe[-1] = probe[-1].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    wait_until(lambda: subprocess.run([sys.executable, *probe[1:]], capture_output=True,
                                      check=False).returncode == 0, timeout=60, every=0.2)
    httpx.get(f"http://127.0.0.1:{port}/v1/datasets")
    lines = [orjson.loads(line) for line in log.read_text().splitlines()]
    assert any(line.get("event") == "http.request" for line in lines)
    assert not [line for line in lines if line.get("logger") == "uvicorn.access"]


def test_env_example_names_only_real_settings():
    from service.settings import Settings

    known = {f"FTM_{name.upper()}" for name in Settings.model_fields}
    known |= {str(field.validation_alias) for field in Settings.model_fields.values()
              if field.validation_alias}
    names = [line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
             if line and not line.startswith("#")]
    assert "FTM_ADMIN_KEY" in names
    assert [n for n in names if n not in known and not n.startswith("OTEL_")] == []


def test_variables_compose_passes_empty_are_unset(monkeypatch, tmp_path):
    from service.settings import Settings

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_WEBHOOK_SECRET",
                 "FTM_METRICS_TOKEN"):
        monkeypatch.setenv(name, "")  # as `${NAME:-}` in docker-compose.yml passes them
    monkeypatch.chdir(tmp_path)  # no .env
    settings = Settings(admin_key=ADMIN_KEY)
    assert settings.openai_base_url is None
    assert settings.openai_org_id is None
    assert settings.openai_api_key is None
    assert settings.openai_webhook_secret is None
    assert settings.metrics_token is None


def test_the_images_install_step_resolves_from_the_lock(tmp_path):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    step = next(args for name, args in instructions() if name == "RUN" and "uv sync" in args)
    command = step.split()
    assert command[:2] == ["uv", "sync"]
    assert "--frozen" in command
    assert "--no-dev" in command
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"), "UV_OFFLINE": "1"}
    run = subprocess.run([uv, *command[1:], "--dry-run"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    planned = run.stdout + run.stderr
    assert " + opentelemetry-sdk==" in planned
    assert " + tiktoken==" in planned
    assert " + pytest==" not in planned
