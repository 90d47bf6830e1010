"""Evaluations (and pipelines) driven through the API, with RQ's scheduler run in-process."""

from typing import Any

from rq import SimpleWorker

from tests.factories import wait_until
from tests.support.api import create_job, every_page, wait_terminal
from tests.support.env import LOCAL_RECEIVERS, TERMINAL, emulator_settings
from worker.context import use_context


def evaluation_settings(emulator: str, **more: object) -> dict[str, object]:
    """The service pointed at the emulator; retries, polls and leases short."""
    return emulator_settings(emulator, evaluation_batch_poll_seconds=0.1,
                             evaluation_lock_seconds=2, openai_requests_per_minute=60_000,
                             **LOCAL_RECEIVERS, **more)


def settings_marked(request: Any) -> dict[str, object]:
    """The overrides of the test's `@pytest.mark.settings(...)`, if it has one."""
    marker = request.node.get_closest_marker("settings")
    return dict(marker.kwargs) if marker else {}


def work(ctx: Any) -> None:
    """Run queued tasks in this process, first moving due scheduled ones (enqueue_in) to the
    queue."""
    use_context(ctx)
    SimpleWorker(ctx.queues, connection=ctx.redis).work(burst=True, with_scheduler=True,
                                                         logging_level="WARNING")


def get(client: Any, auth: dict[str, str], evaluation_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/evaluations/{evaluation_id}", headers=auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def finish(client: Any, ctx: Any, auth: dict[str, str], evaluation_id: str,
           timeout: float = 60) -> dict[str, Any]:
    """Run the evaluation's tasks until it ends; answer it."""
    def ended() -> dict[str, Any] | None:
        work(ctx)
        current = get(client, auth, evaluation_id)
        return current if current["status"] in TERMINAL else None

    return dict(wait_until(ended, timeout=timeout, every=0.05))


def create(client: Any, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/v1/evaluations", headers=auth, json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/evaluations/{response.json()['id']}"
    return dict(response.json())


def all_predictions(client: Any, auth: dict[str, str], evaluation_id: str, query: str = ""
                    ) -> list[dict[str, Any]]:
    """Every prediction of the evaluation; `query` adds filters ("&correct=true")."""
    filters = f"?{query.lstrip('&')}" if query else ""
    return every_page(client, auth, f"/v1/evaluations/{evaluation_id}/predictions{filters}")


def succeeded_job(client: Any, ctx: Any, auth: dict[str, str], train: str, **extra: Any
                  ) -> dict[str, Any]:
    job = create_job(client, auth, train, **extra)
    ended = wait_terminal(client, ctx, auth, job["id"])
    assert ended["status"] == "succeeded", ended
    return ended
