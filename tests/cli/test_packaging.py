"""The project as a package: what its wheel holds, one version, S3 support as an extra."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from service import __version__
from service.storage import S3ExtraMissing, S3Storage
from tests.conftest import ROOT


def test_wheel_holds_the_packages_their_data_and_the_console_scripts(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("building the wheel needs uv")
    subprocess.run([uv, "build", "--wheel", "--quiet", "-o", str(tmp_path)], cwd=ROOT,
                   check=True, timeout=300)
    wheel = next(tmp_path.glob("*.whl"))
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
    assert requires and all("extra == 's3'" in line for line in requires)


def test_the_api_reports_the_package_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    from service.api.app import create_app
    from tests.conftest import make_settings

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
