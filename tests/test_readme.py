"""The README's bash blocks, pasted in order into one bash, against the stack `make run` starts.

`devtools.run` runs as `make run` runs it (its own Redis on a free port, the emulator, the API, a
worker), with a fast emulator. Every ```bash block of the README (curl, then `ftm`) runs as
written, but for the API's address, in a directory holding the stack's `data/` and the sample
`reflections.csv`; ```sh blocks (make, long-running commands) are left out. Then the service's
state is checked, and Ctrl-C must stop every process the stack started.
"""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.datagen import reflections_csv
from tests.support.stack import BLOCK, PRELUDE, README, README_URL, make_run, port_of

NAMES = ("DS_CSV", "DS_CHAT", "DS_TRAIN", "DS_VAL", "DS_TEST", "JOB", "EVAL", "MODEL", "PIPE",
         "PROJECT", "F_CSV", "F_CHAT", "F_TRAIN", "F_JOB", "F_MODEL")

pytestmark = pytest.mark.skipif(not all(shutil.which(tool) for tool in ("bash", "curl", "jq")),
                                reason="the README's examples need bash, curl and jq")


def readme_script(api_url: str) -> str:
    blocks = BLOCK.findall(README.read_text())
    assert len(blocks) >= 10, "the README's runnable examples are ```bash blocks"
    state = "".join(f'echo "STATE {name}=${{{name}:-}}"\n' for name in NAMES)
    return PRELUDE + "\n".join(blocks).replace(README_URL, api_url) + state


def test_readme_examples_run_against_make_run(tmp_path: Path) -> None:
    csv = reflections_csv(tmp_path / "reflections.csv")  # what the README's ```sh line writes
    with make_run(tmp_path) as stack:
        base, key = f"http://127.0.0.1:{port_of(stack)}", stack.line("API key: ")
        assert key
        assert key.strip() == (stack.data_dir / ".default_key").read_text().strip()
        emulator = stack.line("no OPENAI_API_KEY: using the built-in OpenAI emulator at ")
        assert emulator is not None
        env = {**os.environ, "EMU": emulator.strip().removesuffix("/v1")}
        started = time.monotonic()
        run = subprocess.run(["bash", "-c", readme_script(base)], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300, check=False)
        output = run.stdout + run.stderr
        took = time.monotonic() - started
        assert run.returncode == 0, f"the README's bash failed after {took:.0f} s:\n{output}"
        state = dict(line.removeprefix("STATE ").split("=", 1)
                     for line in run.stdout.splitlines() if line.startswith("STATE "))
        check_walkthrough(base, key.strip(), state, csv.empty_answers, run.stdout, tmp_path)
        check_ftm_walkthrough(base, key.strip(), state, csv.empty_answers, run.stdout)
        check_admin_and_emulator(base, env["EMU"], state, run.stdout)


def check_walkthrough(base: str, key: str, state: dict[str, str], empty_rows: list[int],
                      output: str, work: Path) -> None:
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    csv = api.get(f"/v1/datasets/{state['DS_CSV']}").json()
    assert (csv["status"], csv["rows"], csv["format"]) == ("ready", 200, "csv")
    chat = api.get(f"/v1/datasets/{state['DS_CHAT']}").json()
    assert chat["status"] == "ready"
    assert chat["parent_id"] == csv["id"]
    assert [s["row"] for s in chat["conversion"]["skipped"]] == empty_rows
    parts = [api.get(f"/v1/datasets/{state[name]}").json()
             for name in ("DS_TRAIN", "DS_VAL", "DS_TEST")]
    assert all(p["status"] == "ready" and p["parent_id"] == chat["id"] for p in parts)
    assert sum(p["rows"] for p in parts) == chat["rows"]

    jobs = [j for j in api.get("/v1/jobs").json()["data"]
            if "pipeline_id" not in j["metadata"] and j["id"] != state["F_JOB"]]
    assert [j["id"] for j in jobs] == [state["JOB"]], "dry run and retry create no other job"
    job = jobs[0]
    assert job["status"] == "succeeded"
    assert job["fine_tuned_model"] == state["MODEL"]
    assert re.search(r"^idempotent-replayed: true", output, re.IGNORECASE | re.MULTILINE)
    assert re.search(r'^event: end\ndata: \{"status": ?"succeeded"\}$', output, re.MULTILINE)
    assert (work / "loss.csv").read_text().startswith(
        "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n")

    evaluation = api.get(f"/v1/evaluations/{state['EVAL']}").json()
    assert evaluation["status"] == "succeeded", evaluation
    results, base_model = evaluation["results"], job["model"]
    assert evaluation["comparison"]["best_model"] == state["MODEL"]
    assert results[state["MODEL"]]["accuracy"] > results[base_model]["accuracy"]

    model = api.get(f"/v1/models/{state['MODEL']}").json()
    assert model["status"] == "deleted"
    assert re.search(r"^404$", output, re.MULTILINE), "chatting with a deleted model is a 404"
    check_pipeline(api, state)


def check_ftm_walkthrough(base: str, key: str, state: dict[str, str], empty_rows: list[int],
                          output: str) -> None:
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    chat = api.get(f"/v1/datasets/{state['F_CHAT']}").json()
    assert chat["parent_id"] == state["F_CSV"]
    assert chat["status"] == "ready"
    assert [s["row"] for s in chat["conversion"]["skipped"]] == empty_rows
    job = api.get(f"/v1/jobs/{state['F_JOB']}").json()
    assert job["status"] == "succeeded"
    assert job["training_dataset"] == state["F_TRAIN"]
    assert job["fine_tuned_model"] == state["F_MODEL"]
    assert api.get(f"/v1/models/{state['F_MODEL']}").json()["status"] == "deleted"
    evaluations = [e for e in api.get("/v1/evaluations").json()["data"]
                   if e.get("job") == state["F_JOB"]]
    assert [e["status"] for e in evaluations] == ["succeeded"]
    assert evaluations[0]["comparison"]["best_model"] == state["F_MODEL"]
    for shown in ("confusion matrix", "cost (USD)", "label_imbalance",
                  f"deleted {state['F_MODEL']}"):
        assert shown in output, f"ftm's output lacks {shown!r}"


def check_pipeline(api: httpx.Client, state: dict[str, str]) -> None:
    pipeline = api.get(f"/v1/pipelines/{state['PIPE']}").json()
    assert pipeline["status"] == "succeeded", pipeline
    steps = {step["name"]: step for step in pipeline["steps"]}
    assert list(steps) == ["convert", "split", "job", "evaluate"]
    assert all(step["status"] == "succeeded" for step in steps.values())
    job = api.get(f"/v1/jobs/{steps['job']['resource_id']}").json()
    evaluation = api.get(f"/v1/evaluations/{steps['evaluate']['resource_id']}").json()
    assert job["status"] == "succeeded"
    assert job["metadata"]["pipeline_id"] == pipeline["id"]
    assert evaluation["comparison"]["best_model"] == job["fine_tuned_model"]


def check_admin_and_emulator(base: str, emulator: str, state: dict[str, str],
                             output: str) -> None:
    assert re.search(r"^401$", output, re.MULTILINE), "a revoked key is refused"
    assert state["PROJECT"].startswith("proj_")
    faults = httpx.get(f"{emulator}/__emulator/faults").json()
    assert faults["rate_limit_fraction"] == 0
    assert faults["fail_next"]["count"] == 0
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
