"""A newcomer's first hour: on a machine without uv (a clean HOME, a PATH without it), `make run`
installs what it needs and starts the stack; then the README's first commands run in a new
shell, which has neither uv nor the virtualenv on its PATH.

The repository is copied (its files as git knows them) so `make run` makes its own `.venv` and
`data/`; uv's download cache is shared, so only uv itself comes from the package index."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.env import ROOT
from tests.support.stack import BLOCK, PRELUDE, README, README_URL, make_run, port_of

TOOLS = ("bash", "make", "curl", "jq", "git")
pytestmark = pytest.mark.skipif(not all(shutil.which(tool) for tool in TOOLS),
                                reason=f"the first hour needs {', '.join(TOOLS)}")


def copy_repository(target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def newcomer_env(home: Path, bin_dir: Path) -> dict[str, str]:
    """The machine's environment (its certificates, proxies…) with a clean HOME and a PATH of
    the system's tools and a Python, but no uv; nothing from this test run (virtualenv, make)."""
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(Path(sys.base_prefix) / "bin" / "python3")
    path = f"{bin_dir}:/usr/local/bin:/usr/bin:/bin"
    assert shutil.which("uv", path=path) is None, "uv is installed system-wide"
    ours = ("UV", "VIRTUAL_ENV", "FTM_", "OPENAI_", "PYTEST", "PYTHON", "MAKE", "MFLAGS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update({"HOME": str(home), "PATH": path})
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv:  # the packages already downloaded, not uv itself
        cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True)
        env["UV_CACHE_DIR"] = cache.stdout.strip()
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        env["TIKTOKEN_CACHE_DIR"] = os.environ["TIKTOKEN_CACHE_DIR"]
    return env


def first_commands(api_url: str) -> str:
    """The README's first commands: its sample, the curl setup and upload, and ftm's first block."""
    text = README.read_text()
    assert "```sh\nmake sample\n```" in text
    blocks = BLOCK.findall(text)
    ftm = next(block for block in blocks if "ftm datasets upload" in block)
    script = "\n".join(["! command -v uv || { echo 'uv is on the PATH' >&2; exit 1; }",
                        "make sample", blocks[0], blocks[1], ftm])
    return PRELUDE + script.replace(README_URL, api_url)


def test_readme_first_commands_work_in_a_new_shell_after_make_run(tmp_path: Path) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"
    copy_repository(repo)
    home.mkdir()
    env = newcomer_env(home, tmp_path / "bin")
    try:
        run_first_hour(repo, home, env)
    finally:  # the virtualenv make run made is large; pytest keeps its last temporary folders
        shutil.rmtree(repo / ".venv", ignore_errors=True)


def run_first_hour(repo: Path, home: Path, env: dict[str, str]) -> None:
    with make_run(repo, ("make", "run"), cwd=repo, env=env, start_timeout=600,
                  stopped=(0, 2, -2)) as stack:
        assert (home / ".local" / "bin" / "uv").exists(), "make run installed uv"
        assert any(line.startswith("CLI, in another shell: ") for line in stack.lines)
        shell = subprocess.run(["bash", "-c", first_commands(f"http://127.0.0.1:{port_of(stack)}")],
                               cwd=repo, env={k: v for k, v in env.items() if k != "UV_CACHE_DIR"},
                               capture_output=True, text=True, timeout=300, check=False)
        output = shell.stdout + shell.stderr
        assert shell.returncode == 0, output
        assert (repo / "reflections.csv").is_file()
        assert re.search(r"^datasets/ds_\w+: ready$", shell.stdout, re.MULTILINE), output
        assert "label_imbalance" in shell.stdout, "ftm's report of the converted dataset"
        assert (repo / ".venv" / "bin" / "ftm").exists()
