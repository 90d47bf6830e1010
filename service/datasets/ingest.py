"""Validate a freshly uploaded or derived dataset (a worker task): processing → ready | invalid."""

from typing import Any

import orjson

from service import clock, faults
from service.context import Context
from service.datasets import backlog, csvfile, repository
from service.datasets.formats import guess_format, read_head
from service.datasets.models import Dataset, DatasetFormat, DatasetStatus
from service.datasets.pricing import load_prices
from service.datasets.report import build_report
from service.errors import ServiceError, TokenizerUnavailable
from service.logs import log
from service.store import locks
from service.store.locks import LockName

TOKENIZER_RETRY_SECONDS = 60


def validate(ctx: Context, dataset_id: str) -> None:
    """Settle the dataset's format, rows and status; keep its report for the default model.

    The lock, renewed while this runs, tells the overdue sweep the validation is not lost."""
    with locks.hold_renewed(ctx.redis, LockName.dataset, dataset_id,
                            ctx.settings.validation_lease_seconds) as held:
        dataset = ctx.store.get(Dataset, dataset_id)
        if not held or dataset is None or dataset.status != DatasetStatus.processing:
            return
        try:
            update = inspect(ctx, dataset)
        except TokenizerUnavailable as exc:  # the host's fault, not the file's: try again later
            log.error("dataset.validation.deferred", dataset_id=dataset_id, encoding=exc.encoding)
            backlog.queue_validation(ctx, dataset_id, delay=TOKENIZER_RETRY_SECONDS)
            return
        except ServiceError as exc:
            update = {"status": DatasetStatus.invalid, "error": exc.detail}
        faults.point(ctx, "validate.before_recording")
        update["updated_at"] = clock.now()
        ctx.store.update(Dataset, dataset_id, lambda d: d.evolve(**update),
                         also_write=lambda pipe, old, new: backlog.settle(pipe, new))
    log.info("dataset.validated", dataset_id=dataset_id, status=update["status"])


def inspect(ctx: Context, dataset: Dataset) -> dict[str, Any]:
    with ctx.storage.local_path(dataset.storage_name) as path:
        fmt = (dataset.format if dataset.format_declared
               else DatasetFormat(guess_format(read_head(path))))
        if fmt == DatasetFormat.csv:
            summary = csvfile.inspect_csv(path)
            return {"format": fmt, "status": DatasetStatus.ready, "rows": summary.rows,
                    "columns": summary.columns}
        report = compute_report(ctx, dataset, fmt, path, ctx.settings.default_model)
    errors = sum(report["errors"]["counts"].values())
    problem = None
    if report["examples"] == 0:
        problem = "The file has no examples."
    elif errors:
        first = report["errors"]["samples"][0] if report["errors"]["samples"] else {}
        message = str(first.get("message", "")).rstrip(".")
        problem = (f"{errors} of {report['examples']} examples have errors; the first: line "
                   f"{first.get('line')}: {message}. See the report.")
    return {"format": fmt, "rows": report["examples"], "error": problem,
            "status": DatasetStatus.invalid if problem else DatasetStatus.ready}


def compute_report(ctx: Context, dataset: Dataset, fmt: str, path: Any,
                   model: str) -> dict[str, Any]:
    report = build_report(path, fmt, model, prices=load_prices(ctx.settings.price_table),
                          workers=ctx.settings.report_workers,
                          max_line_bytes=ctx.settings.max_line_bytes,
                          label_hint=dataset.label_hint)
    report["dataset_id"] = dataset.id
    repository.save_report(ctx.redis, dataset.id, model, orjson.dumps(report))
    return report


def cached_report(ctx: Context, dataset_id: str, model: str) -> dict[str, Any] | None:
    raw = repository.report(ctx.redis, dataset_id, model)
    report = orjson.loads(raw) if raw else None
    return report if report is not None and _current_shape(report) else None


def _current_shape(report: dict[str, Any]) -> bool:
    """False for a report kept by an older version (recomputed rather than answered wrong)."""
    samples = report["errors"]["samples"] + report["warnings"]["samples"]
    return (all("ge" in bucket for bucket in report["tokens"]["histogram"])
            and all("content" in sample for sample in samples))
