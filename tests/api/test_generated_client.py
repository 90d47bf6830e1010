"""A client generated from the committed spec by openapi-python-client runs the walkthrough
against a live stack (Redis, the API, a worker, the emulator): every answer parses into its
typed model, and error answers into a typed Problem."""

import importlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devtools.stack import Stack, live_stack
from tests.factories import chat_lines, wait_until
from tests.support.env import ROOT, TERMINAL

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
LABELS = ("Positive", "Negative", "Neutral")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package `ftm_client`, importable for this module's tests."""
    folder = tmp_path_factory.mktemp("generated")
    subprocess.run([str(GENERATOR), "generate", "--path", str(ROOT / "openapi" / "openapi.json"),
                    "--meta", "none", "--output-path", str(folder / "ftm_client")],
                   cwd=folder, check=True, capture_output=True)
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("ftm_client")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.startswith("ftm_client")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with live_stack(tmp_path_factory.mktemp("stack"), sync_sweep_seconds="1",
                    sync_interval_running_seconds="0.2",
                    sync_interval_queued_seconds="0.2") as running:
        yield running


def op(group: str, name: str) -> Any:
    return importlib.import_module(f"ftm_client.api.{group}.{name}")


def model(name: str) -> Any:
    return getattr(importlib.import_module("ftm_client.models"), name)


def typed(answer: Any, name: str) -> Any:
    assert type(answer).__name__ == name, answer
    return answer


def test_walkthrough_answers_typed_models(api, stack):
    client = api.AuthenticatedClient(base_url=stack.base, token=stack.key, timeout=60)
    File = importlib.import_module("ftm_client.types").File
    upload = model("UploadDatasetBody")(
        file=File(payload=io.BytesIO(chat_lines(60, LABELS).encode()), file_name="train.jsonl"),
        name="walkthrough")
    dataset = typed(op("datasets", "upload_dataset").sync(client=client, body=upload), "Dataset")

    def ready() -> Any:
        found = typed(op("datasets", "get_dataset").sync(dataset.id, client=client), "Dataset")
        return found if found.status.value != "processing" else None

    assert wait_until(ready, timeout=60).status.value == "ready"
    report = typed(op("datasets", "get_dataset_report").sync(dataset.id, client=client),
                   "DatasetReport")
    assert report.valid_examples == 60
    assert report.estimate.n_epochs >= 1
    rows = typed(op("datasets", "list_dataset_rows").sync(dataset.id, client=client, limit=2),
                 "DatasetRows")
    assert [row.row for row in rows.data] == [1, 2]
    fractions = model("SplitRequestFractions").from_dict({"train": 0.8, "validation": 0.2})
    split = typed(op("datasets", "split_dataset").sync(
        dataset.id, client=client, body=model("SplitRequest")(fractions=fractions, seed=1)),
        "SplitResult")
    train = split.splits["train"]
    assert typed(train, "Dataset").parent_id == dataset.id

    body = model("JobCreate")(model="gpt-4o-mini-2024-07-18", training_dataset=train.id,
                              suffix="generated")
    job = typed(op("jobs", "create_job").sync(client=client, body=body), "Job")

    def finished() -> Any:
        found = typed(op("jobs", "get_job").sync(job.id, client=client), "Job")
        return found if found.status.value in TERMINAL else None

    done = wait_until(finished, timeout=180, every=0.5)
    assert done.status.value == "succeeded", done
    events = typed(op("jobs", "list_job_events").sync(job.id, client=client, limit=100),
                   "JobEventList")
    assert all(typed(event, "JobEvent").object_ == "job.event" for event in events.data)
    typed(op("jobs", "get_job_metrics").sync(job.id, client=client), "JobMetrics")
    typed(op("jobs", "list_job_checkpoints").sync(job.id, client=client), "CheckpointList")
    typed(op("jobs", "list_jobs").sync(client=client), "JobList")

    models = typed(op("models", "list_models").sync(client=client), "ModelList")
    assert done.fine_tuned_model in [m.id for m in models.data]
    typed(op("models", "retrieve_model").sync(done.fine_tuned_model, client=client), "ModelOut")
    chat = model("ChatCompletionRequest").from_dict({
        "model": done.fine_tuned_model, "messages": [{"role": "user", "content": "Hi"}]})
    completion = op("playground", "create_chat_completion").sync(client=client, body=chat)
    assert typed(completion, "ChatCompletion").choices[0].message.content
    deleted = typed(op("models", "delete_model").sync(done.fine_tuned_model, client=client),
                    "Deleted")
    assert deleted.deleted is True
    typed(op("operations", "check_readiness").sync(client=client), "Readiness")


def test_errors_answer_typed_problems(api, stack):
    client = api.AuthenticatedClient(base_url=stack.base, token=stack.key, timeout=60)
    missing = typed(op("datasets", "get_dataset").sync("ds_missing", client=client), "Problem")
    assert missing.status == 404
    assert missing.code == "dataset_not_found"

    lines = chat_lines(20, LABELS).encode()
    upload = model("UploadDatasetBody")(file=importlib.import_module("ftm_client.types").File(
        payload=io.BytesIO(lines), file_name="small.jsonl"))
    dataset = typed(op("datasets", "upload_dataset").sync(client=client, body=upload), "Dataset")
    cancelled = wait_until(lambda: job_cancelled(client, dataset.id), timeout=60)
    refused = typed(op("jobs", "pause_job").sync(cancelled.id, client=client), "Problem")
    assert refused.status == 409
    assert refused.code == "invalid_job_state"

    invalid = op("jobs", "create_job").sync(client=client, body=model("JobCreate")(
        model="gpt-4o-mini-2024-07-18", training_dataset=dataset.id, suffix="x" * 65))
    assert typed(invalid, "Problem").status == 422
    assert invalid.code == "validation_error"
    assert [error.field for error in invalid.errors] == ["body.suffix"]


def job_cancelled(client: Any, dataset_id: str) -> Any:
    """Once the dataset is ready, a job created and cancelled at once; None before."""
    job = op("jobs", "create_job").sync(client=client, body=model("JobCreate")(
        model="gpt-4o-mini-2024-07-18", training_dataset=dataset_id))
    if type(job).__name__ != "Job":
        return None
    return typed(op("jobs", "cancel_job").sync(job.id, client=client), "Job")
