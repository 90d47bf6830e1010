"""Fine-tuning jobs: lifecycle, events, checkpoints, result files, hyperparameters, tokens."""

import asyncio
import csv
import io
import math
import re

import tiktoken
from openai import AsyncOpenAI, OpenAI

from tests.support.emulator_sdk import (
    SYSTEM,
    chat_example,
    create_job,
    jsonl,
    labelled_examples,
    upload,
    wait_for,
    wait_for_status,
)

FT_NAME = re.compile(r"^ft:gpt-4o-mini-2024-07-18:emulator:(?P<suffix>[^:]*):[A-Za-z0-9]{8}$")


def expected_tokens(rows: list[dict], encoding: str) -> int:
    """OpenAI's recipe: 3 per example, 3 per message plus the tokens of its content."""
    enc = tiktoken.get_encoding(encoding)
    return sum(3 + sum(3 + len(enc.encode(m["content"])) for m in row["messages"])
               for row in rows)


def test_job_succeeds_with_model_tokens_and_result_file(client: OpenAI) -> None:
    created = create_job(client)
    assert created.status == "validating_files"
    assert created.fine_tuned_model is None
    assert created.trained_tokens is None
    job = wait_for_status(client, created.id)
    assert job.status == "succeeded"
    match = FT_NAME.match(job.fine_tuned_model or "")
    assert match
    assert match["suffix"] == ""
    assert job.trained_tokens == expected_tokens(labelled_examples(), "o200k_base")
    assert job.finished_at is not None
    assert job.finished_at >= job.created_at
    assert job.hyperparameters.n_epochs == 1
    assert job.hyperparameters.batch_size == 1
    assert job.method
    assert job.method.supervised
    assert job.method.supervised.hyperparameters
    assert job.method.supervised.hyperparameters.learning_rate_multiplier == 1.8
    assert job.error is None
    assert job.estimated_finish is None
    (result_id,) = job.result_files
    assert client.files.retrieve(result_id).purpose == "fine-tune-results"
    rows = list(csv.DictReader(io.StringIO(client.files.content(result_id).text)))
    assert list(rows[0]) == ["step", "train_loss", "train_accuracy", "valid_loss",
                             "valid_mean_token_accuracy"]
    assert [int(r["step"]) for r in rows] == list(range(1, 12))
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])


def test_suffix_and_metadata_are_kept(client: OpenAI) -> None:
    job = create_job(client, suffix="reviews-v2", metadata={"ftm_job_id": "job_1"})
    assert job.metadata == {"ftm_job_id": "job_1"}
    done = wait_for_status(client, job.id)
    match = FT_NAME.match(done.fine_tuned_model or "")
    assert match
    assert match["suffix"] == "reviews-v2"


def test_auto_hyperparameters_follow_openais_rule(client: OpenAI) -> None:
    job = create_job(client, method={"type": "supervised"})
    assert job.hyperparameters.n_epochs == "auto"
    running = wait_for_status(client, job.id, "queued", "running", "succeeded")
    # 11 examples: 3 epochs would be 33 < 100 examples seen, so 100 // 11 = 9 epochs.
    assert running.hyperparameters.n_epochs == 9
    assert running.hyperparameters.batch_size == 1
    assert running.hyperparameters.learning_rate_multiplier == 1.8
    client.fine_tuning.jobs.cancel(job.id)


def test_events_tell_the_story_newest_first(client: OpenAI) -> None:
    job = wait_for_status(client, create_job(client).id)
    events = list(client.fine_tuning.jobs.list_events(job.id, limit=100).data)
    assert [e.created_at for e in events] == sorted((e.created_at for e in events), reverse=True)
    messages = [e.message for e in reversed(events)]
    assert messages[0] == f"Created fine-tuning job: {job.id}"
    assert messages[1] == f"Validating training file: {job.training_file}"
    assert messages[2:4] == ["Files validated, moving job to queued state",
                             "Fine-tuning job started"]
    assert re.fullmatch(r"Step 1/11: training loss=\d+\.\d{4}", messages[4])
    assert "Checkpoint created at step 11" in messages
    assert messages[-1] == "The job has successfully completed"
    assert "New fine-tuned model created" in messages
    metrics = [e for e in events if e.type == "metrics"]
    assert len(metrics) == 11
    assert all(e.level == "info" for e in events)
    assert set(metrics[0].data) == {"step", "train_loss", "train_mean_token_accuracy",
                                    "total_steps"}
    assert metrics[0].data["step"] == 11
    assert metrics[0].data["total_steps"] == 11
    assert all(e.type == "message" for e in events if e not in metrics)


def test_events_page_with_after_and_keep_their_ids(client: OpenAI) -> None:
    job = wait_for_status(client, create_job(client).id)
    everything = [e.id for e in client.fine_tuning.jobs.list_events(job.id, limit=100).data]
    first = client.fine_tuning.jobs.list_events(job.id, limit=7)
    assert first.has_more
    assert [e.id for e in first.data] == everything[:7]
    second = client.fine_tuning.jobs.list_events(job.id, limit=7, after=first.data[-1].id)
    assert [e.id for e in second.data] == everything[7:14]
    assert [e.id for e in client.fine_tuning.jobs.list_events(job.id, limit=100)] == everything
    assert len(set(everything)) == len(everything)


def test_validation_file_adds_validation_metrics(client: OpenAI) -> None:
    validation = upload(client, labelled_examples()[:3], name="valid.jsonl")
    job = wait_for_status(client, create_job(client, validation_file=validation).id)
    assert job.status == "succeeded"
    assert job.validation_file == validation
    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    assert events[-2].message.startswith(f"Validating training file: {job.training_file} and "
                                         f"validation file: {validation}")
    step = next(e for e in events if e.type == "metrics")
    assert {"valid_loss", "valid_mean_token_accuracy"} <= set(step.data)
    assert "validation loss=" in step.message
    rows = list(csv.DictReader(io.StringIO(client.files.content(job.result_files[0]).text)))
    assert all(r["valid_loss"] for r in rows)


def test_checkpoints_for_the_last_three_epochs(client: OpenAI) -> None:
    job = create_job(client, method={"type": "supervised", "supervised": {
        "hyperparameters": {"n_epochs": 4, "batch_size": 2}}})
    job = wait_for_status(client, job.id)
    assert job.status == "succeeded"
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    total = math.ceil(11 * 4 / 2)
    assert [c.step_number for c in checkpoints] == [total, round(3 * total / 4), total // 2]
    for checkpoint in checkpoints:
        assert checkpoint.fine_tuned_model_checkpoint == \
            f"{job.fine_tuned_model}:ckpt-step-{checkpoint.step_number}"
        assert checkpoint.fine_tuning_job_id == job.id
        assert checkpoint.metrics.step == checkpoint.step_number
        assert checkpoint.metrics.train_loss is not None
    page = client.fine_tuning.jobs.checkpoints.list(job.id, limit=1)
    assert page.has_more
    assert page.data[0].id == checkpoints[0].id


def test_same_seed_gives_the_same_loss_curve(client: OpenAI) -> None:
    training = upload(client)
    jobs = [create_job(client, training, seed=seed).id for seed in (7, 7, 8)]
    curves = []
    for job_id in jobs:
        wait_for_status(client, job_id)
        events = client.fine_tuning.jobs.list_events(job_id, limit=100).data
        curves.append([e.data["train_loss"] for e in events if e.type == "metrics"])
    assert curves[0] == curves[1] != curves[2]
    assert client.fine_tuning.jobs.retrieve(jobs[0]).seed == 7


def test_invalid_training_file_fails_naming_the_line(client: OpenAI) -> None:
    rows = labelled_examples()
    rows[2] = {"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "x"}]}
    job = wait_for_status(client, create_job(client, upload(client, rows)).id)
    assert job.status == "failed"
    assert job.error is not None
    assert (job.error.code, job.error.param) == ("invalid_training_file", "training_file")
    assert "Line 3" in job.error.message
    assert "'bot'" in job.error.message
    assert job.fine_tuned_model is None
    assert job.result_files == []
    events = client.fine_tuning.jobs.list_events(job.id).data
    assert events[0].message == "The job has failed"
    assert events[0].level == "error"
    assert not any(e.message == "Fine-tuning job started" for e in events)


def test_training_file_problems_are_each_reported(client: OpenAI) -> None:
    good = labelled_examples()
    cases: dict[str, bytes | list[dict]] = {
        "not valid JSON": b"{not json}\n" + jsonl(good),
        "no assistant message": [chat_example("a", "b")] * 10
        + [{"messages": [{"role": "user", "content": "alone"}]}],
        "missing 'messages'": [*good, {"prompt": "a", "completion": "b"}],
        "at least 10": good[:4],
        "missing 'content'": [*good, {"messages": [{"role": "user"},
                                                   {"role": "assistant", "content": "x"}]}],
    }
    ids = {}
    for problem, rows in cases.items():
        content = rows if isinstance(rows, bytes) else jsonl(rows)
        file_id = client.files.create(file=("t.jsonl", content), purpose="fine-tune").id
        ids[problem] = create_job(client, file_id).id
    for problem, job_id in ids.items():
        job = wait_for_status(client, job_id)
        assert job.status == "failed", problem
        assert job.error, (problem, job.error)
        assert problem in job.error.message, (problem, job.error)


def test_dpo_job_resolves_beta_and_succeeds(client: OpenAI) -> None:
    rows = [{"input": {"messages": [{"role": "system", "content": SYSTEM},
                                    {"role": "user", "content": f"review {i}"}]},
             "preferred_output": [{"role": "assistant", "content": "Positive"}],
             "non_preferred_output": [{"role": "assistant", "content": "I cannot say"}]}
            for i in range(10)]
    job = create_job(client, upload(client, rows), method={
        "type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 1}}})
    assert job.method
    assert job.method.dpo
    assert job.method.dpo.hyperparameters
    assert job.method.dpo.hyperparameters.beta == "auto"
    done = wait_for_status(client, job.id)
    assert done.status == "succeeded"
    assert done.method
    assert done.method.dpo
    assert done.method.dpo.hyperparameters
    assert done.method.dpo.hyperparameters.beta == 0.1


def test_dpo_file_in_chat_shape_fails(client: OpenAI) -> None:
    job = create_job(client, method={"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 1}}})
    failed = wait_for_status(client, job.id)
    assert failed.status == "failed"
    assert failed.error
    assert "'input'" in failed.error.message


def test_legacy_prompt_completion_trains_babbage(client: OpenAI) -> None:
    rows = [{"prompt": f"Review: {t}\n\n###\n\n", "completion": f" {label} END"}
            for label, texts in {"good": ["a", "b", "c", "d", "e"],
                                 "bad": ["f", "g", "h", "i", "j"]}.items() for t in texts]
    job = create_job(client, upload(client, rows), model="babbage-002", method=None,
                     hyperparameters={"n_epochs": 1})
    done = wait_for_status(client, job.id)
    assert done.status == "succeeded"
    assert (done.fine_tuned_model or "").startswith("ft:babbage-002:emulator::")


def test_fine_tuned_model_can_be_trained_further(client: OpenAI) -> None:
    first = wait_for_status(client, create_job(client, suffix="one").id)
    assert first.fine_tuned_model
    extra = [chat_example(f"The parcel number {i} is late", "Late") for i in range(10)]
    second = wait_for_status(client, create_job(
        client, upload(client, extra), model=first.fine_tuned_model).id)
    assert second.status == "succeeded"
    assert second.model == first.fine_tuned_model
    assert (second.fine_tuned_model or "").startswith("ft:gpt-4o-mini-2024-07-18:emulator::")
    assert second.fine_tuned_model != first.fine_tuned_model
    ask = [{"role": "system", "content": SYSTEM}]
    old = client.chat.completions.create(model=second.fine_tuned_model or "", messages=[
        *ask, {"role": "user", "content": "Rude staff and cold soggy pizza"}])
    new = client.chat.completions.create(model=second.fine_tuned_model or "", messages=[
        *ask, {"role": "user", "content": "The parcel number 3 is late"}])
    assert (old.choices[0].message.content, new.choices[0].message.content) == \
        ("Negative", "Late")


async def test_async_client_drives_a_job(aclient: AsyncOpenAI) -> None:
    training = await aclient.files.create(file=("t.jsonl", jsonl(labelled_examples())),
                                          purpose="fine-tune")
    job = await aclient.fine_tuning.jobs.create(
        model="gpt-4.1-nano-2025-04-14", training_file=training.id,
        hyperparameters={"n_epochs": 1})
    for _ in range(400):
        current = await aclient.fine_tuning.jobs.retrieve(job.id)
        if current.status == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert current.status == "succeeded"
    assert (current.fine_tuned_model or "").startswith("ft:gpt-4.1-nano-2025-04-14:emulator::")
    page = await aclient.fine_tuning.jobs.list_events(job.id, limit=3)
    assert len(page.data) == 3


def test_waiting_for_status_sees_running(client: OpenAI) -> None:
    job = create_job(client, method={"type": "supervised", "supervised": {
        "hyperparameters": {"n_epochs": 9}}})
    running = wait_for_status(client, job.id, "running", "succeeded")
    assert running.status == "running"
    assert running.estimated_finish is not None
    assert running.estimated_finish >= job.created_at
    assert wait_for(lambda: client.fine_tuning.jobs.checkpoints.list(job.id).data)
