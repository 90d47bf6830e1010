"""Pipelines driven through the API: sync jobs and run tasks in-process until a condition holds."""

from collections.abc import Callable
from typing import Any

from service.jobs import sync
from tests.datagen import LEVELS, SYSTEM, USER_TEMPLATE
from tests.factories import wait_until
from tests.support.env import TERMINAL
from tests.support.evaluations import work

CONVERT = {"system": SYSTEM, "user": USER_TEMPLATE, "assistant": "{Final}",
           "value_maps": {"Final": LEVELS}}
STRATIFIED = {"strategy": "stratified", "seed": 1, "label": "assistant",
              "fractions": {"train": 0.8, "validation": 0.1, "test": 0.1}}


def get(client: Any, auth: dict[str, str], pipeline_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/pipelines/{pipeline_id}", headers=auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def create(client: Any, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/v1/pipelines", headers=auth, json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/pipelines/{response.json()['id']}"
    return dict(response.json())


def drive(client: Any, ctx: Any, auth: dict[str, str], pipeline_id: str,
          until: Callable[[dict[str, Any]], Any] | None = None, timeout: float = 90
          ) -> dict[str, Any]:
    """Sync jobs and run queued (and due delayed) tasks until `until(pipeline)` holds, by default
    until the pipeline ends; answer the pipeline."""
    def ended(pipeline: dict[str, Any]) -> bool:
        return pipeline["status"] in TERMINAL

    holds = until or ended

    def step() -> dict[str, Any] | None:
        sync.sweep(ctx)
        work(ctx)
        pipeline = get(client, auth, pipeline_id)
        return pipeline if holds(pipeline) else None

    return dict(wait_until(step, timeout=timeout, every=0.02))


def steps(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in pipeline["steps"]}
