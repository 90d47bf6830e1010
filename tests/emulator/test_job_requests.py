"""Creating jobs: OpenAI's 400s with `param` set, listing with cursors and metadata filters."""

from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.support.emulator_sdk import create_job, upload


@pytest.mark.parametrize(("overrides", "param"), [
    ({"model": "gpt-5-imaginary"}, "model"),
    ({"model": "gpt-4"}, "model"),
    ({"model": "text-embedding-3-small"}, "model"),
    ({"model": "ft:gpt-4o-mini-2024-07-18:emulator::nosuchid"}, "model"),
    ({"suffix": "s" * 65}, "suffix"),
    ({"seed": -1}, "seed"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ({"metadata": {"k": "v" * 513}}, "metadata.k"),
    ({"metadata": {"k" * 65: "v"}}, f"metadata.{'k' * 65}"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 0}}}},
     "method.supervised.hyperparameters.n_epochs"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 999}}}},
     "method.supervised.hyperparameters.batch_size"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"beta": 0.2}}}},
     "method.supervised.hyperparameters.beta"),
    ({"method": {"type": "magic"}}, "method.type"),
    ({"model": "gpt-3.5-turbo-0125", "method": {"type": "dpo"}}, "method.type"),
    ({"method": None, "hyperparameters": {"learning_rate_multiplier": -1}},
     "hyperparameters.learning_rate_multiplier"),
])
def test_bad_job_requests_are_refused_with_param(client: OpenAI, overrides: dict[str, Any],
                                                 param: str) -> None:
    training = upload(client)
    with pytest.raises(openai.BadRequestError) as caught:
        create_job(client, training, **overrides)
    assert caught.value.param == param
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert client.fine_tuning.jobs.list().data == []


def test_unknown_training_file_is_refused(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        create_job(client, "file-missing")
    assert (caught.value.param, caught.value.code) == ("training_file", "file_not_found")


def test_training_file_with_wrong_purpose_is_refused(client: OpenAI) -> None:
    batch_file = upload(client, purpose="batch")
    with pytest.raises(openai.BadRequestError) as caught:
        create_job(client, batch_file)
    assert (caught.value.param, caught.value.code) == ("training_file", "invalid_file_purpose")
    with pytest.raises(openai.BadRequestError) as caught:
        create_job(client, validation_file=batch_file)
    assert caught.value.param == "validation_file"


def test_missing_model_is_refused(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/fine_tuning/jobs", body={"training_file": upload(client)},
                    cast_to=object)
    assert (caught.value.param, caught.value.code) == ("model", "missing_required_parameter")


def test_aliases_resolve_to_their_snapshot(client: OpenAI) -> None:
    assert create_job(client, model="gpt-4o-mini").model == "gpt-4o-mini-2024-07-18"
    assert create_job(client, model="gpt-3.5-turbo").model == "gpt-3.5-turbo-0125"


def test_list_is_newest_first_with_after_cursor(client: OpenAI) -> None:
    training = upload(client)
    ids = [create_job(client, training).id for _ in range(5)]
    first = client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in first.data] == ids[:2:-1][:2] == [ids[4], ids[3]]
    assert first.has_more
    second = client.fine_tuning.jobs.list(limit=2, after=first.data[-1].id)
    assert [j.id for j in second.data] == [ids[2], ids[1]]
    assert [j.id for j in client.fine_tuning.jobs.list(limit=2)] == ids[::-1]


def test_list_filters_by_metadata(client: OpenAI) -> None:
    training = upload(client)
    tagged = create_job(client, training, metadata={"ftm_job_id": "job_a", "team": "x"})
    create_job(client, training, metadata={"ftm_job_id": "job_b", "team": "x"})
    plain = create_job(client, training)
    found = client.fine_tuning.jobs.list(metadata={"ftm_job_id": "job_a"}).data
    assert [j.id for j in found] == [tagged.id]
    assert len(client.fine_tuning.jobs.list(metadata={"team": "x"}).data) == 2
    assert client.fine_tuning.jobs.list(metadata={"team": "y"}).data == []
    nothing = client.fine_tuning.jobs.list(extra_query={"metadata": "null"}).data
    assert [j.id for j in nothing] == [plain.id]


def test_unknown_job_answers_404(client: OpenAI) -> None:
    for call in (client.fine_tuning.jobs.retrieve, client.fine_tuning.jobs.cancel,
                 client.fine_tuning.jobs.list_events):
        with pytest.raises(openai.NotFoundError):
            call("ftjob-nope")
