"""Batch mode: the predictions go through the provider's Batch API, at its lower price.

The requests are cut into parts, one model and at most `evaluation_batch_max_requests`
examples each (a provider batch holds one model's requests). For each part, in order and
each step recorded on the evaluation the moment it is done: its input file is written and
uploaded (purpose "batch"), its batch is created (tagged with the evaluation and part, and
looked for by that tag before creating, so a restart never makes a second one), and then it
is followed: every call of `follow` looks at the parts once and the task re-queues itself
until every batch has ended and its output and error files are read into the predictions store.
"""

import contextlib
import tempfile
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from service import faults
from service.context import Context
from service.errors import ProviderRateLimited, ProviderRejected, ProviderUnavailable
from service.evaluations import examples, predictions, states
from service.evaluations.models import (
    BatchPart,
    Evaluation,
    RunOutcome,
    parse_field,
    prediction_field,
)
from service.logs import log
from service.provider.types import Batch, FileObject
from service.store.records import evolve

ENDPOINT = "/v1/chat/completions"
ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
BATCHES_CHECKED = 1000


def follow(ctx: Context, evaluation: Evaluation) -> RunOutcome:
    """Advance every part one step; finished once all are read, else poll_later."""
    if states.is_cancelled(ctx, evaluation.id):
        cancel_remote(ctx, evaluation)
        return RunOutcome.stopped
    if not evaluation.batch_parts:
        evaluation = record_parts(ctx, evaluation.id, plan(ctx, evaluation))
    try:
        for part in evaluation.batch_parts:
            if not part.collected:
                advance(ctx, evaluation, part)
    except (ProviderUnavailable, ProviderRateLimited) as exc:
        log.warning("evaluation.batch.retry_later", evaluation_id=evaluation.id, error=exc.code)
        return RunOutcome.poll_later
    current = ctx.store.get(Evaluation, evaluation.id)
    done = current is not None and all(part.collected for part in current.batch_parts)
    return RunOutcome.finished if done else RunOutcome.poll_later


def plan(ctx: Context, evaluation: Evaluation) -> list[BatchPart]:
    total = (evaluation.progress.total or 0) // len(evaluation.models)
    size = ctx.settings.evaluation_batch_max_requests
    return [BatchPart(model=model, first=first, count=min(size, total - first))
            for model in evaluation.models for first in range(0, total, size)]


def record_parts(ctx: Context, evaluation_id: str, parts: list[BatchPart]) -> Evaluation:
    return ctx.store.update(Evaluation, evaluation_id, lambda e: e if e.batch_parts
                            else e.evolve(batch_parts=parts))


def update_part(ctx: Context, evaluation_id: str, key: str, **changes: Any) -> BatchPart:
    def change(evaluation: Evaluation) -> Evaluation:
        parts = [evolve(part, **changes) if part.key == key else part
                 for part in evaluation.batch_parts]
        return evaluation.evolve(batch_parts=parts)

    updated = ctx.store.update(Evaluation, evaluation_id, change)
    return next(part for part in updated.batch_parts if part.key == key)


def advance(ctx: Context, evaluation: Evaluation, part: BatchPart) -> None:
    input_file_id = part.input_file_id
    if input_file_id is None:
        input_file_id = upload_input(ctx, evaluation, part).id
        part = update_part(ctx, evaluation.id, part.key, input_file_id=input_file_id)
    batch_id = part.batch_id
    if batch_id is None:
        remote = (find_batch(ctx, evaluation.id, part)
                  or create_batch(ctx, evaluation, part, input_file_id))
        faults.point(ctx, "evaluation.batch_created")
        batch_id = remote.id
        part = update_part(ctx, evaluation.id, part.key, batch_id=batch_id)
    remote = ctx.provider.retrieve_batch(batch_id)
    counts = remote.request_counts
    answered = (counts.completed + counts.failed) if counts else 0
    part = update_part(ctx, evaluation.id, part.key, status=remote.status, answered=answered)
    if remote.status in ENDED:
        collect(ctx, evaluation, part, remote)
        update_part(ctx, evaluation.id, part.key, collected=True)


def part_examples(ctx: Context, evaluation: Evaluation,
                  part: BatchPart) -> Iterator[examples.Example]:
    for ordinal, example in enumerate(examples.examples(ctx, evaluation.dataset,
                                                        evaluation.max_examples)):
        if ordinal >= part.first + part.count:
            return
        if ordinal >= part.first:
            yield example


def input_filename(evaluation: Evaluation, part: BatchPart) -> str:
    return f"ftm-{evaluation.id}-{evaluation.models.index(part.model)}-{part.first}.jsonl"


def upload_input(ctx: Context, evaluation: Evaluation, part: BatchPart) -> FileObject:
    """The part's input file on the provider: one found from an interrupted run, or uploaded."""
    name = input_filename(evaluation, part)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            for example in part_examples(ctx, evaluation, part):
                body = examples.chat_request(part.model, example, evaluation.temperature,
                                             evaluation.max_tokens)
                out.write(orjson.dumps({"custom_id": prediction_field(part.model, example.index),
                                        "method": "POST", "url": ENDPOINT, "body": body}))
                out.write(b"\n")
        size = path.stat().st_size
        found = ctx.provider.find_file("batch", name, size)
        if found is not None:
            return found
        with path.open("rb") as file:
            uploaded = ctx.provider.upload_file(name, file, purpose="batch")
    log.info("evaluation.batch.uploaded", evaluation_id=evaluation.id, file_id=uploaded.id)
    return uploaded


def tag(evaluation_id: str, part: BatchPart) -> dict[str, str]:
    return {"ftm_evaluation_id": evaluation_id, "ftm_part": part.key}


def find_batch(ctx: Context, evaluation_id: str, part: BatchPart) -> Batch | None:
    """A batch an interrupted run created but did not record, found by its tag."""
    wanted = tag(evaluation_id, part)
    for remote in islice(ctx.provider.list_batches(page_size=100), BATCHES_CHECKED):
        if (remote.metadata or {}) == wanted:
            return remote
    return None


def create_batch(ctx: Context, evaluation: Evaluation, part: BatchPart,
                 input_file_id: str) -> Batch:
    remote = ctx.provider.create_batch(input_file_id, ENDPOINT, tag(evaluation.id, part),
                                       completion_window="24h")
    log.info("evaluation.batch.created", evaluation_id=evaluation.id, batch_id=remote.id,
             model=part.model, requests=part.count)
    return remote


def collect(ctx: Context, evaluation: Evaluation, part: BatchPart, remote: Batch) -> None:
    """Store the answers of an ended batch; requests it did not answer are stored as errors."""
    truths = {example.index: example.truth for example in part_examples(ctx, evaluation, part)}
    for file_id in (remote.output_file_id, remote.error_file_id):
        if file_id:
            content = ctx.provider.file_content(file_id)
            for line in content.iter_lines():
                if line.strip():
                    store_line(ctx, evaluation.id, truths, orjson.loads(line))
    why = batch_failure(remote)
    for index, truth in truths.items():
        predictions.save(ctx, evaluation.id, part.model, index,
                         predictions.failed(truth, f"batch_{remote.status}", why))
    log.info("evaluation.batch.collected", evaluation_id=evaluation.id, batch_id=remote.id,
             status=remote.status)


def store_line(ctx: Context, evaluation_id: str, truths: dict[int, str],
               line: dict[str, Any]) -> None:
    model, index = parse_field(line["custom_id"])
    truth = truths.get(index)
    if truth is None:
        return
    response = line.get("response") or {}
    body = response.get("body") or {}
    if response.get("status_code") == 200 and not line.get("error"):
        choices = body.get("choices") or [{}]
        output = (choices[0].get("message") or {}).get("content")
        stored = predictions.answered(truth, output, None, body.get("usage"))
    else:
        error = line.get("error") or body.get("error") or {}
        stored = predictions.failed(truth, error.get("code") or "provider_error",
                                    error.get("message") or "The provider did not answer.")
    predictions.save(ctx, evaluation_id, model, index, stored)


def batch_failure(remote: Batch) -> str:
    """Why a request has no answer once its batch ended."""
    problems = [e.message for e in (remote.errors.data if remote.errors and remote.errors.data
                                    else []) if e.message]
    if problems:
        return f"The provider's batch {remote.id} failed: {'; '.join(problems[:3])}"
    return f"The provider's batch {remote.id} ended ({remote.status}) without answering it."


def cancel_remote(ctx: Context, evaluation: Evaluation) -> None:
    """Cancel the evaluation's provider batches that are still running."""
    for part in evaluation.batch_parts:
        if part.batch_id and not part.collected and part.status not in ENDED:
            with contextlib.suppress(ProviderRejected):  # it ended meanwhile
                ctx.provider.cancel_batch(part.batch_id)
            log.info("evaluation.batch.cancelled", evaluation_id=evaluation.id,
                     batch_id=part.batch_id)
