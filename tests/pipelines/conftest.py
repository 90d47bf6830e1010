"""Pipelines against the emulator: the API, in-process RQ with its scheduler, real Redis."""

from typing import Any

import pytest

from service.jobs import sync
from tests.datagen import LEVELS, SYSTEM, USER_TEMPLATE, reflections_csv
from tests.evaluations.conftest import settings_overrides, work  # noqa: F401  (fixture)
from tests.factories import ready_dataset, wait_until

MODEL = "gpt-4o-mini-2024-07-18"
TERMINAL = ("succeeded", "failed", "cancelled")
CONVERT = {"system": SYSTEM, "user": USER_TEMPLATE, "assistant": "{Final}",
           "value_maps": {"Final": LEVELS}}
STRATIFIED = {"strategy": "stratified", "seed": 1, "label": "assistant",
              "fractions": {"train": 0.8, "validation": 0.1, "test": 0.1}}


def pytest_configure(config):
    config.addinivalue_line("markers", "settings(**overrides): change the service's settings")


def get(client, auth, pipeline_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/pipelines/{pipeline_id}", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def create(client, auth, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/pipelines", headers=auth, json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/pipelines/{response.json()['id']}"
    return response.json()


def drive(client, ctx, auth, pipeline_id: str, until=None, timeout: float = 90) -> dict[str, Any]:
    """Sync jobs and run queued (and due delayed) tasks until `until(pipeline)` holds, by default
    until the pipeline ends; answer the pipeline."""
    until = until or (lambda pipeline: pipeline["status"] in TERMINAL)

    def step():
        sync.sweep(ctx)
        work(ctx)
        pipeline = get(client, auth, pipeline_id)
        return pipeline if until(pipeline) else None

    return wait_until(step, timeout=timeout, every=0.02)


def steps(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in pipeline["steps"]}


@pytest.fixture
def reflections(client, ctx, auth, tmp_path) -> dict[str, Any]:
    """A ready CSV of 200 reflections (Question, Answers, Final)."""
    data = reflections_csv(tmp_path / "reflections.csv", rows=200)
    dataset = ready_dataset(client, ctx, auth, data.path, name="reflections")
    assert dataset["status"] == "ready", dataset
    return dataset
