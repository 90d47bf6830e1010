"""Statuses a provider job passed between two syncs."""

from service.jobs.models import JobStatus as S
from service.jobs.sync import passed_through


def test_a_jump_to_succeeded_fills_in_queued_and_running():
    assert passed_through(S.validating_files, S.succeeded) == [S.queued, S.running]
    assert passed_through(S.queued, S.running) == []
    assert passed_through(S.queued, S.succeeded) == [S.running]


def test_nothing_is_invented_for_failures_or_outside_the_path():
    assert passed_through(S.validating_files, S.failed) == []
    assert passed_through(S.pending, S.running) == []
    assert passed_through(S.running, S.cancelled) == []
