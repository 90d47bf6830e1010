"""`ftm … --json` through the walkthrough against the stack `make run` starts (its own Redis,
the emulator, the API, a worker), each command's output parsed as JSON."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.datagen import reflections_csv
from tests.support.stack import CONVERT, make_run, port_of

FTM = str(Path(sys.executable).parent / "ftm")


class Cli:
    def __init__(self, url: str, work: Path) -> None:
        # No key given: ftm uses the one make run keeps in ./data/.default_key.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FTM_")}
        self.env["FTM_URL"], self.work = url, work

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([FTM, *args], cwd=self.work, env=self.env, capture_output=True,
                              text=True, timeout=300, check=False)

    def json(self, *args: str) -> Any:
        run = self.run(*args, "--json")
        assert run.returncode == 0, f"ftm {' '.join(args)}: {run.stderr}"
        return json.loads(run.stdout)


def test_ftm_runs_the_walkthrough(tmp_path: Path) -> None:
    csv = reflections_csv(tmp_path / "reflections.csv")
    (tmp_path / "convert.json").write_text(json.dumps(CONVERT))
    with make_run(tmp_path) as stack:
        ftm = Cli(f"http://127.0.0.1:{port_of(stack)}", tmp_path)
        upload = ftm.json("datasets", "upload", "reflections.csv", "--name", "reflections")
        assert (upload["status"], upload["rows"], upload["format"]) == ("ready", 200, "csv")
        chat = ftm.json("datasets", "convert", upload["id"], "--body", "@convert.json")
        assert [s["row"] for s in chat["conversion"]["skipped"]] == csv.empty_answers
        report = ftm.json("datasets", "report", chat["id"], "--model", "gpt-4o-mini-2024-07-18")
        assert report["examples"] == chat["rows"]
        assert report["estimate"]["cost_usd"] > 0
        split = ftm.json("datasets", "split", chat["id"], "--strategy", "stratified",
                         "--seed", "1", "--label", "assistant")
        parts = {name: part["id"] for name, part in split["splits"].items()}
        assert sum(part["rows"] for part in split["splits"].values()) == chat["rows"]
        job = run_job(ftm, parts)
        model = job["fine_tuned_model"]
        evaluate(ftm, parts["test"], job)
        answer = ftm.json("chat", model, 'Question: """Why?"""\nReflection: """I see."""')
        assert answer["choices"][0]["message"]["content"]
        assert ftm.json("models", "delete", model)["deleted"] is True
        gone = ftm.run("chat", model, "hi")
        assert gone.returncode == 1
        assert "model_not_found" in gone.stderr
        emulator = stack.line("no OPENAI_API_KEY: using the built-in OpenAI emulator at ")
        assert emulator is not None
        check_failures(ftm, parts, emulator.strip().removesuffix("/v1"))


def run_job(ftm: Cli, parts: dict[str, str]) -> Any:
    create = ("jobs", "create", "--model", "gpt-4o-mini-2024-07-18", "-t", parts["train"],
              "-v", parts["validation"], "--suffix", "reflection")
    dry = ftm.json(*create, "--dry-run")
    assert dry["object"] == "job.dry_run"
    assert dry["estimate"]["cost_usd"] > 0
    once = ("--idempotency-key", f"reflection-{parts['train']}")
    job = ftm.json(*create, *once)
    assert ftm.json(*create, *once)["id"] == job["id"], "the same key answers the same job"
    followed = ftm.json("jobs", "follow", job["id"])
    assert followed["status"] == "succeeded"
    assert followed["fine_tuned_model"]
    shown = ftm.run("jobs", "follow", job["id"])  # its events again, as a person sees them
    assert shown.returncode == 0, shown.stderr
    assert "Status changed from running to succeeded" in shown.stderr
    assert re.search(r"step (\d+)/\1 +train_loss \d\.\d{4} +valid_loss \d",
                     shown.stderr), shown.stderr
    return followed


def evaluate(ftm: Cli, test_set: str, job: dict[str, Any]) -> None:
    evaluation = ftm.json("evals", "create", "--dataset", test_set, "--job", job["id"],
                          "--max-tokens", "10")
    assert evaluation["status"] == "succeeded"
    assert set(evaluation["results"]) == {job["model"], job["fine_tuned_model"]}
    shown = ftm.json("evals", "show", evaluation["id"])
    assert shown["comparison"] == evaluation["comparison"]
    readable = ftm.run("evals", "show", evaluation["id"])
    assert "confusion matrix" in readable.stdout
    assert "accuracy" in readable.stdout


def check_failures(ftm: Cli, parts: dict[str, str], emulator: str) -> None:
    # The provider holds the next job, so it is still running when it is cancelled.
    httpx.post(f"{emulator}/__emulator/faults", json={"stall_next_jobs": 1}).raise_for_status()
    job = ftm.json("jobs", "create", "--model", "gpt-4o-mini-2024-07-18", "-t", parts["train"])
    assert ftm.json("jobs", "cancel", job["id"])["id"] == job["id"]
    followed = ftm.run("jobs", "follow", job["id"], "--json")
    assert followed.returncode == 1, "following a cancelled job fails"
    assert json.loads(followed.stdout)["status"] == "cancelled"
    (ftm.work / "broken.jsonl").write_text('not json\n{"messages": []}\n')
    broken = ftm.run("datasets", "upload", "broken.jsonl", "--format", "chat", "--json")
    assert broken.returncode == 1, "an upload that turns out invalid fails"
    assert json.loads(broken.stdout)["status"] == "invalid"
    missing = ftm.run("datasets", "show", "ds_missing")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error (404): dataset_not_found: ")
    refused = ftm.run("--api-key", "ftm_wrong", "datasets", "show", parts["train"])
    assert refused.returncode == 1
    assert "(401)" in refused.stderr
