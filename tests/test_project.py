"""The project's promises about itself: spec, compose file, import directions."""

import json
import subprocess
import sys

import yaml

from devtools.openapi import render
from tests.support.env import ROOT


def test_committed_openapi_is_what_the_app_serves(client):
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert committed == client.get("/openapi.json").json()
    assert json.loads(render()) == committed


def test_worker_tasks_load_no_fastapi():
    code = "import sys, worker.tasks; print('fastapi' in sys.modules, 'service.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"FTM_ADMIN_KEY": "x" * 20, "PATH": ""}, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_compose_runs_what_make_run_runs():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "api", "worker"}
    assert "--appendonly" in services["redis"]["command"]
    redis_command = services["redis"]["command"]
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    run = (ROOT / "devtools" / "run.py").read_text()
    serve = (ROOT / "service" / "api" / "serve.py").read_text()
    assert services["api"]["command"][0] == "ftm-api"  # the installed script: service.api.serve
    assert '"service.api.app:create_app"' in run
    assert '"--factory"' in run
    assert '"service.api.app:create_app", factory=True' in serve
    assert services["api"]["ports"] == ["8000:8000"]
    assert services["worker"]["command"][0] == "ftm-worker"  # worker.__main__, as make run's
    assert '"-m", "worker"' in run
    env = services["api"]["environment"]
    assert env == services["worker"]["environment"]
    for name in ("FTM_REDIS_URL", "FTM_DATA_DIR", "FTM_ADMIN_KEY", "OPENAI_API_KEY",
                 "OPENAI_BASE_URL"):
        assert name in env
    assert env["FTM_REDIS_URL"].startswith("redis://redis:6379")
    for name in ("redis", "api", "worker"):
        assert "healthcheck" in services[name]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER ftm" in dockerfile
    assert "uv sync --frozen" in dockerfile
