"""A dataset's data beside its record: its place in the validation backlog, its reports."""

from service.store import due, keys
from service.store.clients import Client, Writer, blob


def awaiting_count(client: Client, project_id: str) -> int:
    """How many of the project's datasets await validation."""
    return due.size(client, keys.datasets_awaiting(project_id))


def expect_validation(writer: Writer, dataset_id: str, project_id: str, created_at: int,
                      overdue_at: float) -> None:
    """The dataset awaits validation, counted in its project's backlog; overdue at overdue_at."""
    due.put(writer, keys.datasets_due(), dataset_id, overdue_at)
    due.put(writer, keys.datasets_awaiting(project_id), dataset_id, created_at)


def settle(writer: Writer, dataset_id: str, project_id: str) -> None:
    """The dataset no longer awaits validation."""
    due.drop(writer, keys.datasets_due(), dataset_id)
    due.drop(writer, keys.datasets_awaiting(project_id), dataset_id)


def leave_backlog(client: Client, project_id: str, dataset_id: str) -> None:
    due.drop(client, keys.datasets_awaiting(project_id), dataset_id)


def save_report(client: Client, dataset_id: str, model: str, report: bytes) -> None:
    client.set(keys.dataset_report(dataset_id, model), report)


def report(client: Client, dataset_id: str, model: str) -> bytes | None:
    return blob(client.get(keys.dataset_report(dataset_id, model)))
