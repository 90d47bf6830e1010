"""Pipelines against the emulator: the API, in-process RQ with its scheduler, real Redis."""

from typing import Any

import pytest

from tests.datagen import reflections_csv
from tests.factories import ready_dataset
from tests.support.evaluations import evaluation_settings, settings_marked


@pytest.fixture
def settings_overrides(emulator, request):
    """As the evaluations': the emulator, short retries, polls and leases; plus the test's own
    `@pytest.mark.settings(...)`."""
    return evaluation_settings(emulator, **settings_marked(request))


@pytest.fixture
def reflections(client, ctx, auth, tmp_path) -> dict[str, Any]:
    """A ready CSV of 200 reflections (Question, Answers, Final)."""
    data = reflections_csv(tmp_path / "reflections.csv", rows=200)
    dataset = ready_dataset(client, ctx, auth, data.path, name="reflections")
    assert dataset["status"] == "ready", dataset
    return dataset
