"""The loss curve: metrics events by step, filled in from the provider's result file."""

import csv
import io
from typing import Any

from service.context import Context
from service.jobs import events, index
from service.jobs.models import Job
from service.spreadsheet import safe_row

FIELDS = ("train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy",
          "full_valid_loss", "full_valid_mean_token_accuracy")
# OpenAI's step_metrics.csv names train_mean_token_accuracy train_accuracy.
RESULT_NAMES = {"train_accuracy": "train_mean_token_accuracy"}
CSV_HEADER = ("step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy")


def rows(ctx: Context, job: Job) -> list[dict[str, Any]]:
    by_step: dict[int, dict[str, Any]] = {}

    def fill(step: Any, values: dict[str, Any]) -> None:
        if not isinstance(step, int | float):
            return
        row = by_step.setdefault(int(step), {"step": int(step), **dict.fromkeys(FIELDS)})
        for name, value in values.items():
            name = RESULT_NAMES.get(name, name)
            if name in FIELDS and row[name] is None and isinstance(value, int | float):
                row[name] = value

    for event in events.log_of(ctx).all(job.id):
        if event["type"] == "metrics":
            fill(event["data"].get("step"), event["data"])
    for result in index.result_metrics(ctx, job.id):
        fill(result.get("step"), result)
    return [by_step[step] for step in sorted(by_step)]


def as_csv(data: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in data:
        values = [row["step"], row["train_loss"], row["train_mean_token_accuracy"],
                  row["valid_loss"], row["valid_mean_token_accuracy"]]
        writer.writerow(safe_row(["" if v is None else v for v in values]))
    return out.getvalue()
