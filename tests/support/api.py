"""The service's HTTP API as tests drive it: projects and keys, jobs, problem+json answers."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.env import ADMIN, MODEL, TERMINAL

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from service.context import Context

    Http = httpx.Client | TestClient  # the in-process app, or a live server


def new_project_key(client: "Http", name: str = "p") -> tuple[str, dict[str, str]]:
    """Create a project and a key through the admin API; answer its id and auth headers."""
    project = client.post("/v1/admin/projects", json={"name": name}, headers=ADMIN).json()
    key = client.post(f"/v1/admin/projects/{project['id']}/keys", json={}, headers=ADMIN).json()
    return project["id"], {"Authorization": f"Bearer {key['key']}"}


def create_job(client: "Http", auth: dict[str, str], train: str, **extra: Any
               ) -> dict[str, Any]:
    """POST /v1/jobs (the test model, the training dataset, any other fields); answer the job."""
    response = client.post("/v1/jobs", headers=auth,
                           json={"model": MODEL, "training_dataset": train, **extra})
    assert response.status_code == 202, response.text
    return dict(response.json())


def status_of(client: "Http", auth: dict[str, str], job_id: str) -> dict[str, Any]:
    """The job as GET /v1/jobs/{id} answers it."""
    return dict(client.get(f"/v1/jobs/{job_id}", headers=auth).json())


def terminal(client: "Http", auth: dict[str, str], job_id: str
             ) -> Callable[[], dict[str, Any] | None]:
    """A check for wait_until/drive_jobs: the job once it has ended, else None."""
    def check() -> dict[str, Any] | None:
        job = status_of(client, auth, job_id)
        return job if job["status"] in TERMINAL else None
    return check


def wait_terminal(client: "Http", ctx: "Context", auth: dict[str, str], job_id: str,
                  timeout: float = 60) -> dict[str, Any]:
    """Run sweeps and tasks in this process until the job ends; answer it."""
    from tests.factories import drive_jobs

    return dict(drive_jobs(ctx, terminal(client, auth, job_id), timeout=timeout))


def every_page(client: "Http", auth: dict[str, str], path: str) -> list[dict[str, Any]]:
    """All items of a list route, following `after` 100 at a time (path may carry a query)."""
    found: list[dict[str, Any]] = []
    after = ""
    joiner = "&" if "?" in path else "?"
    while True:
        response = client.get(f"{path}{joiner}limit=100{after}", headers=auth)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["data"]
        if not page["has_more"]:
            return found
        after = f"&after={page['last_id']}"


def all_events(client: "Http", auth: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    return every_page(client, auth, f"/v1/jobs/{job_id}/events")


def problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is a problem+json of that status (and code), with a detail; answer its body."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["status"] == status
    assert body["detail"]
    assert body["code"].replace("_", "").isalnum()
    assert body["code"].islower()
    if code is not None:
        assert body["code"] == code, body
    return body
