"""Provider copies of datasets are deleted after the retention, only once no job needs them."""

import openai
import pytest

from service.context import build_context
from service.jobs import cleanup
from tests.factories import chat_dataset
from tests.support.api import create_job, wait_terminal
from tests.support.emulator import stats
from tests.support.env import EMULATOR_KEY


def provider_file_exists(emulator: str, file_id: str) -> bool:
    remote = openai.OpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=0)
    try:
        remote.files.retrieve(file_id)
    except openai.NotFoundError:
        return False
    return True


def provider_file(client, auth, job_id: str) -> str:
    return client.get(f"/v1/jobs/{job_id}", headers=auth).json()["provider"]["training_file"]


@pytest.fixture
def expiring(settings):
    """A context whose retention has already passed for every finished job."""
    return build_context(settings.model_copy(update={"provider_file_retention_seconds": 0}))


def test_files_are_kept_by_default(client, ctx, auth, emulator):
    train = chat_dataset(client, ctx, auth)
    job = create_job(client, auth, train)
    assert wait_terminal(client, ctx, auth, job["id"])["status"] == "succeeded"
    assert cleanup.delete_expired_provider_files(ctx) == 0
    assert provider_file_exists(emulator, provider_file(client, auth, job["id"]))


def test_a_file_goes_once_every_job_using_it_ended(client, ctx, auth, emulator, expiring):
    train = chat_dataset(client, ctx, auth)
    first = create_job(client, auth, train, suffix="a")
    assert wait_terminal(client, ctx, auth, first["id"])["status"] == "succeeded"
    file_id = provider_file(client, auth, first["id"])
    second = create_job(client, auth, train, suffix="b")

    assert cleanup.delete_expired_provider_files(expiring) == 0, "the second job still needs it"
    assert provider_file_exists(emulator, file_id)

    assert wait_terminal(client, ctx, auth, second["id"])["status"] == "succeeded"
    assert cleanup.delete_expired_provider_files(expiring) == 1
    assert not provider_file_exists(emulator, file_id)
    assert client.get(f"/v1/datasets/{train}", headers=auth).status_code == 200

    third = create_job(client, auth, train, suffix="c")
    assert wait_terminal(client, ctx, auth, third["id"])["status"] == "succeeded"
    assert provider_file(client, auth, third["id"]) != file_id, "uploaded again"
    assert stats(emulator)["files"]["by_purpose"]["fine-tune"] == 1, "only the new copy"
