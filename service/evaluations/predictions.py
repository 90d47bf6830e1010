"""The answers of an evaluation, one Redis hash field per model and example, written once.

A stored answer is {"expected", "output", "latency_ms", "prompt_tokens", "completion_tokens",
"error"}; it is scored when read, against the labels fixed when the run started.
"""

from collections.abc import Callable, Iterator
from typing import Any

import orjson

from service.context import Context
from service.evaluations import repository
from service.evaluations.examples import Example
from service.evaluations.models import (
    MAX_INPUT_CHARS,
    Evaluation,
    EvaluationError,
    InputMessage,
    Prediction,
    parse_field,
    prediction_field,
)
from service.evaluations.scoring import score
from service.store.records import evolve

CHUNK = 500


def answered(expected: str, output: str | None, latency_ms: float | None,
             usage: Any) -> dict[str, Any]:
    """A stored answer from a completion's text and usage (an SDK object or a dict)."""
    get: Callable[[str], Any] = (usage.get if isinstance(usage, dict)
                                 else (lambda name: getattr(usage, name, None)))
    return {"expected": expected, "output": output, "latency_ms": latency_ms,
            "prompt_tokens": int(get("prompt_tokens") or 0) if usage else 0,
            "completion_tokens": int(get("completion_tokens") or 0) if usage else 0,
            "error": None}


def failed(expected: str, code: str, message: str) -> dict[str, Any]:
    """A stored answer for a request the provider did not answer."""
    return {"expected": expected, "output": None, "latency_ms": None, "prompt_tokens": 0,
            "completion_tokens": 0, "error": {"code": code, "message": message}}


def save(ctx: Context, evaluation_id: str, model: str, index: int,
         stored: dict[str, Any]) -> bool:
    """Keep the first answer only; True when this one was kept."""
    return repository.save_prediction(ctx.redis, evaluation_id, prediction_field(model, index),
                                      orjson.dumps(stored))


def unanswered(ctx: Context, evaluation_id: str, models: list[str], index: int) -> list[str]:
    """The models with no stored answer to example index yet."""
    stored = repository.predictions(ctx.redis, evaluation_id,
                                    [prediction_field(model, index) for model in models])
    return [model for model, raw in zip(models, stored, strict=True) if raw is None]


def count(ctx: Context, evaluation_id: str) -> int:
    return counts(ctx, [evaluation_id])[0]


def counts(ctx: Context, evaluation_ids: list[str]) -> list[int]:
    return repository.count_predictions(ctx.redis, evaluation_ids)


def save_labels(ctx: Context, evaluation_id: str, labels: list[str]) -> None:
    repository.save_labels(ctx.redis, evaluation_id, orjson.dumps(labels))


def labels(ctx: Context, evaluation_id: str) -> list[str]:
    return repository.labels(ctx.redis, evaluation_id)


class InputWriter:
    """Keeps the prompt of each example (its text cut) as the run's first pass reads it."""

    def __init__(self, ctx: Context, evaluation_id: str) -> None:
        self.writer = repository.InputWriter(ctx.redis, evaluation_id)
        self.pending = 0

    def add(self, example: Example) -> None:
        self.writer.add(example.index, orjson.dumps(
            [{"role": str(m.get("role")), "content": input_text(m.get("content"))}
             for m in example.messages]))
        self.pending += 1
        if self.pending >= CHUNK:
            self.flush()

    def flush(self) -> None:
        self.writer.flush()
        self.pending = 0


def input_text(content: Any) -> str | None:
    if content is None:
        return None
    text = content if isinstance(content, str) else orjson.dumps(content).decode()
    return text if len(text) <= MAX_INPUT_CHARS else f"{text[:MAX_INPUT_CHARS - 1]}…"


def with_inputs(ctx: Context, evaluation_id: str, page: list[Prediction]) -> list[Prediction]:
    """The predictions with the messages sent for their examples (one read for the page)."""
    indexes = sorted({prediction.index for prediction in page})
    if not indexes:
        return page
    raws = repository.inputs(ctx.redis, evaluation_id, indexes)
    found = {index: orjson.loads(raw) for index, raw in zip(indexes, raws, strict=True) if raw}
    return [evolve(p, input=[InputMessage(**m) for m in found[p.index]])
            if p.index in found else p for p in page]


def all_stored(ctx: Context, evaluation_id: str) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Every stored answer as (model, index, answer), in no particular order."""
    for field, raw in repository.all_predictions(ctx.redis, evaluation_id, CHUNK):
        model, index = parse_field(field.decode())
        yield model, index, orjson.loads(raw)


def scored(evaluation: Evaluation, labels: list[str], model: str, index: int,
           stored: dict[str, Any]) -> Prediction:
    result = score(stored["output"], stored["expected"], evaluation.scoring, labels)
    error = stored.get("error")
    return Prediction(id=prediction_field(model, index), index=index, model=model,
                      expected=stored["expected"], output=stored["output"],
                      predicted_label=result.predicted_label, correct=result.correct,
                      invalid=result.invalid, latency_ms=stored.get("latency_ms"),
                      prompt_tokens=stored.get("prompt_tokens", 0),
                      completion_tokens=stored.get("completion_tokens", 0),
                      error=EvaluationError(**error) if error else None)


def in_order(ctx: Context, evaluation: Evaluation, models: list[str],
             start: tuple[int, int] = (0, 0)) -> Iterator[Prediction]:
    """Scored predictions by example index, then by the evaluation's model order.

    start is (index, model position) of the first one wanted.
    """
    if evaluation.last_index is None:
        return
    known = labels(ctx, evaluation.id)
    first_index, first_model = start
    for low in range(first_index, evaluation.last_index + 1, CHUNK):
        wanted = [(index, model) for index in range(low, min(low + CHUNK,
                                                             evaluation.last_index + 1))
                  for model in models
                  if (index, evaluation.models.index(model)) >= (first_index, first_model)]
        if not wanted:
            continue
        raws = repository.predictions(ctx.redis, evaluation.id,
                                      [prediction_field(model, index) for index, model in wanted])
        for (index, model), raw in zip(wanted, raws, strict=True):
            if raw is not None:
                yield scored(evaluation, known, model, index, orjson.loads(raw))
