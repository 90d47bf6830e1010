"""Real resources on the fuzzed stack, so operations that take an id reach their logic rather
than answering 404: made through the API (and the emulator, for a provider job to import)
before schemathesis starts, then handed to it as parameter values."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from devtools.stack import Stack

BASE_MODEL = "gpt-4o-mini-2024-07-18"
EMBEDDING_MODEL = "text-embedding-3-small"
# Columns the convert operation's example names (Question, Answers, Final and its value map).
CSV = "Question,Answers,Final\n" + "".join(
    f"Why {i}?,Because {i},{i % 4 + 1}\n" for i in range(24))
CHAT_LINE = ('{{"messages": [{{"role": "system", "content": "Classify."}}, '
             '{{"role": "user", "content": "Example {i}"}}, '
             '{{"role": "assistant", "content": "{label}"}}]}}\n')


def chat_jsonl(rows: int) -> str:
    labels = ("Positive", "Negative", "Neutral")
    return "".join(CHAT_LINE.format(i=i, label=labels[i % 3]) for i in range(rows))


@dataclass(frozen=True)
class Resources:
    dataset: str  # a ready chat dataset
    csv_dataset: str  # a ready CSV the convert example fits
    spare_dataset: str  # for the delete operation
    job: str  # succeeded, its model below
    running_job: str  # for cancel, pause and resume
    model: str  # a fine-tuned model of the project
    spare_model: str  # for the delete operation
    evaluation: str
    pipeline: str
    webhook: str
    spare_key: str  # for the revoke operation
    provider_job: str  # a job at the provider the project has not imported


def wait(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise RuntimeError(f"fuzz data: {what} did not happen within {timeout:.0f} s")


def created(response: httpx.Response) -> dict[str, Any]:
    if response.status_code not in (200, 201, 202):
        raise RuntimeError(f"fuzz data: {response.request.method} {response.request.url.path} "
                           f"answered {response.status_code}: {response.text[:300]}")
    return dict(response.json())


def ready_datasets(api: httpx.Client, files: dict[str, str]) -> list[str]:
    """Upload every file first, then wait for their validations (queued together)."""
    ids = [str(created(api.post("/v1/datasets", files={"file": (name, content.encode())}))["id"])
           for name, content in files.items()]

    def settled() -> list[dict[str, Any]] | None:
        found = [dict(api.get(f"/v1/datasets/{dataset_id}").json()) for dataset_id in ids]
        return found if all(one["status"] in ("ready", "invalid") for one in found) else None

    for dataset in wait(settled, "validation of the datasets", timeout=300):
        if dataset["status"] != "ready":
            raise RuntimeError(f"fuzz data: {dataset['filename']} was found invalid")
    return ids


def job(api: httpx.Client, dataset: str) -> str:
    return str(created(api.post("/v1/jobs", json={"model": BASE_MODEL,
                                                  "training_dataset": dataset}))["id"])


def succeeded_model(api: httpx.Client, job_id: str) -> str:
    def finished() -> dict[str, Any] | None:
        found = dict(api.get(f"/v1/jobs/{job_id}").json())
        return found if found["status"] in ("succeeded", "failed", "cancelled") else None

    done = wait(finished, f"job {job_id}", timeout=300)
    if done["status"] != "succeeded":
        raise RuntimeError(f"fuzz data: job {job_id} ended {done['status']}")
    return str(done["fine_tuned_model"])


def provider_job(stack: Stack, api: httpx.Client) -> str:
    """A fine-tuning job made at the provider directly, as another tool would."""
    emulator = httpx.Client(base_url=f"{stack.emulator}/v1", timeout=30,
                            headers={"Authorization": "Bearer sk-emulator-ct"})
    with emulator:
        uploaded = created(emulator.post("/files", data={"purpose": "fine-tune"},
                                         files={"file": ("train.jsonl", chat_jsonl(12).encode())}))
        found = created(emulator.post("/fine_tuning/jobs", json={
            "model": BASE_MODEL, "training_file": uploaded["id"]}))
    return str(found["id"])


def make(stack: Stack) -> Resources:
    headers = {"Authorization": f"Bearer {stack.key}"}
    with httpx.Client(base_url=stack.base, headers=headers, timeout=60) as api:
        dataset, csv_dataset, spare_dataset = ready_datasets(api, {
            "train.jsonl": chat_jsonl(30), "reflections.csv": CSV, "spare.jsonl": chat_jsonl(12)})
        first, second = job(api, dataset), job(api, dataset)
        model, spare_model = succeeded_model(api, first), succeeded_model(api, second)
        running_job = job(api, dataset)
        evaluation = created(api.post("/v1/evaluations", json={
            "dataset": dataset, "models": [model], "max_examples": 5}))["id"]
        pipeline = created(api.post("/v1/pipelines", json={
            "dataset": dataset, "job": {"model": BASE_MODEL},
            "split": {"fractions": {"train": 0.8, "test": 0.2}}}))["id"]
        webhook = created(api.post("/v1/webhooks", json={
            "url": "https://hooks.example.com/finetune", "events": ["job.succeeded"]}))["id"]
        found_provider_job = provider_job(stack, api)
    admin = {"Authorization": f"Bearer {stack.admin_key}"}
    with httpx.Client(base_url=stack.base, headers=admin, timeout=60) as operator:
        project = created(operator.post("/v1/admin/projects", json={"name": "spare"}))
        spare_key = created(operator.post(f"/v1/admin/projects/{project['id']}/keys",
                                          json={}))["id"]
    return Resources(dataset, csv_dataset, spare_dataset, first, running_job, model, spare_model,
                     str(evaluation), str(pipeline), str(webhook), str(spare_key),
                     found_provider_job)
