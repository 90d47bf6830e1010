"""The project as a package: what its wheel holds, one version, S3 support as an extra."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from devtools.redis_server import free_port
from service import __version__
from service.storage import S3ExtraMissing, S3Storage
from tests.factories import wait_until
from tests.support.env import ADMIN_KEY, EMULATOR_KEY, make_settings


def test_wheel_holds_the_packages_their_data_and_the_console_scripts(wheel_file: Path) -> None:
    wheel = wheel_file
    assert wheel.name == f"finetune_manager-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"finetune_manager-{__version__}.dist-info"
        scripts = archive.read(f"{info}/entry_points.txt").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
    for package in ("service", "worker", "emulator", "devtools", "ftm"):
        assert f"{package}/__init__.py" in names
    assert {"service/datasets/prices.json", "service/api/console/index.html",
            "service/api/console/console.js"} <= names
    assert not any(name.startswith("tests/") for name in names)
    for line in ("ftm = ftm.cli:main", "ftm-api = service.api.serve:main",
                 "ftm-worker = worker.__main__:main"):
        assert line in scripts
    assert f"Version: {__version__}\n" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: boto3")]
    assert requires
    assert all("extra == 's3'" in line for line in requires)


def test_the_api_reports_the_package_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    from service.api.app import create_app

    assert version("finetune-manager") == __version__
    app = create_app(make_settings("redis://127.0.0.1:9/0", tmp_path / "data"))
    assert app.version == __version__


def test_s3_storage_without_boto3_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if the s3 extra were not installed
    with pytest.raises(S3ExtraMissing) as stopped:
        S3Storage("bucket", "datasets/", None)
    assert "FTM_STORAGE=s3 needs boto3" in str(stopped.value)
    assert "finetune-manager[s3]" in str(stopped.value)


def test_console_scripts_start() -> None:
    bin_dir = Path(sys.executable).parent
    for script in ("ftm", "ftm-api", "ftm-worker"):
        run = subprocess.run([str(bin_dir / script), "--help"], capture_output=True, text=True,
                             timeout=60, check=False)
        assert run.returncode == 0, run.stderr
        assert "usage" in run.stdout.lower()


def test_ftm_api_and_ftm_worker_serve(redis_url: str, emulator: str, tmp_path: Path) -> None:
    bin_dir, port = Path(sys.executable).parent, free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FTM_REDIS_URL": redis_url,
           "FTM_ADMIN_KEY": ADMIN_KEY, "FTM_DATA_DIR": str(tmp_path / "data"),
           "FTM_PORT": str(port), "OPENAI_BASE_URL": emulator, "OPENAI_API_KEY": EMULATOR_KEY}
    if "TIKTOKEN_CACHE_DIR" in os.environ:  # readiness needs the tokenizer's files
        env["FTM_TIKTOKEN_CACHE_DIR"] = os.environ["TIKTOKEN_CACHE_DIR"]
    api = subprocess.Popen([str(bin_dir / "ftm-api")], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: healthy(f"http://127.0.0.1:{port}/readyz"), timeout=60)
    finally:
        api.terminate()
        assert api.wait(30) in (0, -15), "stopped by SIGTERM, cleanly"  # uvicorn re-raises it
    worker = subprocess.run([str(bin_dir / "ftm-worker"), "--burst"], env=env, timeout=120,
                            capture_output=True, text=True, check=False)
    assert worker.returncode == 0, worker.stderr[-2000:]


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
