"""The emulator through the openai SDK, for its own tests: data to train on, waiting for jobs."""

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from openai import OpenAI
from openai.types.fine_tuning import FineTuningJob

from tests.factories import wait_until
from tests.support.env import TERMINAL

T = TypeVar("T")
SYSTEM = "Classify the review as Positive, Negative or Neutral."
REVIEWS = {
    "Positive": ["I loved this blender, it crushes ice perfectly",
                 "Fantastic battery life and a gorgeous screen",
                 "The staff were friendly and the pizza was delicious",
                 "Best headphones I have ever owned, superb bass"],
    "Negative": ["The blender broke after two days, terrible quality",
                 "Awful battery, the phone dies before lunch",
                 "Rude staff and cold soggy pizza",
                 "These headphones crackle and hurt my ears"],
    "Neutral": ["The blender arrived on Tuesday in a brown box",
                "The phone has a six inch screen and weighs 180 grams",
                "The restaurant opens at noon on weekdays"],
}


def chat_example(user: str, answer: str, system: str | None = SYSTEM) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    return {"messages": [*messages, {"role": "user", "content": user},
                         {"role": "assistant", "content": answer}]}


def labelled_examples() -> list[dict[str, Any]]:
    return [chat_example(text, label) for label, texts in REVIEWS.items() for text in texts]


def jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def upload(client: OpenAI, rows: list[Any] | None = None, purpose: str = "fine-tune",
           name: str = "train.jsonl") -> str:
    """A file on the emulator (default: the 11 labelled reviews); answers its id."""
    content = jsonl(labelled_examples() if rows is None else rows)
    return client.files.create(file=(name, content), purpose=purpose).id  # type: ignore[arg-type]


def create_job(client: OpenAI, training_file: str | None = None, **overrides: Any
               ) -> FineTuningJob:
    """A short job (one epoch of the reviews, about 0.5 s at speed 50)."""
    params: dict[str, Any] = {"model": "gpt-4o-mini-2024-07-18",
                              "method": {"type": "supervised", "supervised": {
                                  "hyperparameters": {"n_epochs": 1}}}}
    params.update(overrides)
    return client.fine_tuning.jobs.create(training_file=training_file or upload(client), **params)


def wait_for(probe: Callable[[], T | None], timeout: float = 20.0, every: float = 0.05) -> T:
    """Poll until probe answers something truthy; fail after timeout seconds."""
    return cast(T, wait_until(probe, timeout=timeout, every=every))


def wait_for_status(client: OpenAI, job_id: str, *statuses: str) -> FineTuningJob:
    wanted = statuses or TERMINAL

    def probe() -> FineTuningJob | None:
        job = client.fine_tuning.jobs.retrieve(job_id)
        return job if job.status in wanted else None
    return wait_for(probe)
