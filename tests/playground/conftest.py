"""The service on a live uvicorn, pointed at the emulator; clients are the real openai SDK."""

from collections.abc import Iterator

import pytest

from tests.factories import chat_lines, ready_dataset
from tests.support.api import create_job, wait_terminal
from tests.support.env import emulator_settings
from tests.support.playground import ANSWERS, Caller, new_caller


@pytest.fixture
def settings_overrides(emulator):
    return emulator_settings(emulator)


@pytest.fixture
def caller(live_url) -> Iterator[Caller]:
    made = new_caller(live_url, "playground")
    yield made
    made.http.close()


def fine_tune(ctx, caller: Caller, suffix: str = "play") -> str:
    """Run a job to success through the API with in-process workers; answer its model."""
    dataset = ready_dataset(caller.http, ctx, {}, chat_lines(30, ANSWERS))  # type: ignore[arg-type]
    assert dataset["status"] == "ready", dataset
    created = create_job(caller.http, {}, dataset["id"], suffix=suffix)
    job = wait_terminal(caller.http, ctx, {}, created["id"])
    assert job["status"] == "succeeded", job
    return str(job["fine_tuned_model"])


@pytest.fixture
def fine_tuned(ctx, caller) -> str:
    return fine_tune(ctx, caller)
