import pytest
from pydantic import ValidationError

from service.jobs.models import Job, JobStatus


def make_job() -> Job:
    return Job.model_validate({"id": "ftjob-1", "created_at": 1, "updated_at": 1,
                               "project_id": "proj-1", "model": "gpt-4o-mini-2024-07-18",
                               "training_dataset": "ds-1", "method": {"type": "supervised"}})


def test_evolve_changes_the_named_fields_only() -> None:
    job = make_job()
    moved = job.evolve(status=JobStatus.running)
    assert moved.status == JobStatus.running
    assert moved.model_dump(exclude={"status"}) == job.model_dump(exclude={"status"})


def test_evolve_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="statuss"):
        make_job().evolve(statuss=JobStatus.running)


def test_evolve_validates_values() -> None:
    with pytest.raises(ValidationError):
        make_job().evolve(status="nonsense")


def test_evolve_keeps_nested_values() -> None:
    job = make_job()
    assert job.evolve(stalled=True).method == job.method
