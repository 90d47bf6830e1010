"""Models: list, retrieve, delete (fine-tuned only), and what a deleted model answers."""

import httpx
import openai
import pytest
from openai import OpenAI

from tests.support.emulator_sdk import create_job, wait_for_status


def test_base_models_are_listed_and_retrievable(client: OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "text-embedding-3-large"} <= ids
    model = client.models.retrieve("gpt-4o-mini-2024-07-18")
    assert (model.object, model.owned_by) == ("model", "system")
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-imaginary")
    assert caught.value.code == "model_not_found"


def test_fine_tuned_model_is_listed_then_deleted(client: OpenAI, admin: httpx.Client) -> None:
    job = wait_for_status(client, create_job(client).id)
    name = job.fine_tuned_model or ""
    assert name in {m.id for m in client.models.list()}
    assert client.models.retrieve(name).owned_by == "org-emulator"
    deleted = client.models.delete(name)
    assert (deleted.id, deleted.deleted) == (name, True)
    assert name not in {m.id for m in client.models.list()}
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve(name)
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model=name, messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.models.delete(name)
    assert admin.get("/stats").json()["models"] == {"fine_tuned": 0, "deleted": 1}


def test_base_model_cannot_be_deleted(client: OpenAI) -> None:
    with pytest.raises(openai.PermissionDeniedError):
        client.models.delete("gpt-4o-mini-2024-07-18")
    assert client.models.retrieve("gpt-4o-mini-2024-07-18").id == "gpt-4o-mini-2024-07-18"


def test_deleted_model_cannot_be_trained_further(client: OpenAI) -> None:
    job = wait_for_status(client, create_job(client).id)
    client.models.delete(job.fine_tuned_model or "")
    with pytest.raises(openai.BadRequestError) as caught:
        create_job(client, job.training_file, model=job.fine_tuned_model)
    assert caught.value.param == "model"
