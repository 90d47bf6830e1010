"""Evaluations against the emulator through the SDK, with RQ's scheduler run in-process."""

from typing import Any

import pytest

from tests.factories import chat_dataset
from tests.support.evaluations import evaluation_settings, settings_marked, succeeded_job


@pytest.fixture
def settings_overrides(emulator, request):
    """The service pointed at the emulator; retries, polls and leases short; plus the
    test's own `@pytest.mark.settings(...)`."""
    return evaluation_settings(emulator, **settings_marked(request))


@pytest.fixture
def tuned(client, ctx, auth, emulator) -> dict[str, Any]:
    """A succeeded job trained on 30 chat examples, and a 30-example dataset to evaluate on."""
    dataset = chat_dataset(client, ctx, auth, 30)
    job = succeeded_job(client, ctx, auth, dataset)
    return {"job": job, "dataset": dataset, "model": job["fine_tuned_model"]}


