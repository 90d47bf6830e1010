"""The readable forms of the API's documents: rich tables and short lines."""

from typing import Any

import orjson
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text


def fields(title: str, rows: list[tuple[str, Any]]) -> RenderableType:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        if value not in (None, "", [], {}):
            table.add_row(name, str(value))
    return Group(Text(title, style="bold underline"), table)


def dataset(d: dict[str, Any]) -> RenderableType:
    conversion = d.get("conversion") or {}
    skipped = conversion.get("skipped") or []
    parts: list[RenderableType] = [fields(f"dataset {d['id']}", [
        ("name", d.get("name")), ("status", d.get("status")), ("format", d.get("format")),
        ("rows", d.get("rows")), ("bytes", d.get("bytes")), ("parent", d.get("parent_id")),
        ("converted", conversion.get("converted")),
        ("skipped", ", ".join(f"row {s['row']} ({s['reason']})" for s in skipped[:10])),
        ("error", d.get("error"))])]
    if d.get("columns"):
        columns = Table("column", "distinct", "sample", title_justify="left")
        for column in d["columns"]:
            sample = (column.get("samples") or [""])[0]
            columns.add_row(column["name"], str(column.get("distinct", "")), str(sample)[:60])
        parts.append(columns)
    return Group(*parts)


def report(r: dict[str, Any]) -> RenderableType:
    total, estimate = (r.get("tokens") or {}).get("total") or {}, r.get("estimate") or {}
    summary = fields("report", [
        ("examples", r.get("examples")), ("valid", r.get("valid_examples")),
        ("tokens", total and f"{total.get('sum')} (per example {total.get('min')}–"
                             f"{total.get('max')}, mean {total.get('mean')})"),
        ("epochs", estimate.get("n_epochs")), ("trained tokens", estimate.get("trained_tokens")),
        ("cost (USD)", estimate.get("cost_usd"))])
    problems = Table("kind", "code", "count", "example", title="errors and warnings",
                     title_justify="left")
    for kind in ("errors", "warnings"):
        group = r.get(kind) or {}
        examples = {s.get("code"): s.get("message", "") for s in group.get("samples") or []}
        for code, count in (group.get("counts") or {}).items():
            if count:
                problems.add_row(kind[:-1], code, str(count), examples.get(code, ""))
    labels = Table("label", "examples", title="labels", title_justify="left")
    for label, count in ((r.get("labels") or {}).get("counts") or {}).items():
        labels.add_row(str(label), str(count))
    parts = [summary, problems if problems.row_count else Text("no errors, no warnings")]
    return Group(*parts, *([labels] if labels.row_count else []))


def split(s: dict[str, Any]) -> RenderableType:
    table = Table("part", "dataset", "rows", title=f"split of {s.get('parent_id')}",
                  title_justify="left")
    for part, child in (s.get("splits") or {}).items():
        table.add_row(part, child["id"], str(child.get("rows")))
    return table


def job(j: dict[str, Any]) -> RenderableType:
    progress = j.get("progress") or {}
    step = (f"{progress.get('step')}/{progress.get('total_steps')}"
            if progress.get("step") is not None else None)
    return fields(f"job {j['id']}", [
        ("status", j.get("status")), ("model", j.get("model")),
        ("training", j.get("training_dataset")), ("validation", j.get("validation_dataset")),
        ("step", step), ("train loss", progress.get("train_loss")),
        ("valid loss", progress.get("valid_loss")),
        ("fine-tuned model", j.get("fine_tuned_model")), ("cost (USD)", j.get("cost_usd")),
        ("error", (j.get("error") or {}).get("message"))])


def dry_run(d: dict[str, Any]) -> RenderableType:
    estimate = d.get("estimate") or {}
    return fields("dry run: nothing created", [
        ("epochs", estimate.get("n_epochs")), ("billing tokens", estimate.get("billing_tokens")),
        ("cost (USD)", estimate.get("cost_usd")),
        ("provider request", orjson.dumps(d.get("provider_request")).decode())])


def evaluation(e: dict[str, Any]) -> RenderableType:
    progress = e.get("progress") or {}
    parts: list[RenderableType] = [fields(f"evaluation {e['id']}", [
        ("status", e.get("status")), ("dataset", e.get("dataset")),
        ("progress", f"{progress.get('done')}/{progress.get('total')}"),
        ("error", (e.get("error") or {}).get("message"))])]
    results = e.get("results") or {}
    if results:
        scores = Table("model", "accuracy", "macro F1", "MCC", "invalid", "cost (USD)",
                       title="results", title_justify="left")
        for model, result in results.items():
            scores.add_row(model, *(fmt(result.get(k)) for k in (
                "accuracy", "macro_f1", "mcc", "invalid_outputs", "cost_usd")))
        parts.append(scores)
    if comparison := e.get("comparison"):
        flips = comparison.get("flips") or {}
        parts.append(fields("comparison", [
            ("best model", comparison.get("best_model")),
            ("accuracy delta", fmt(comparison.get("accuracy_delta"))),
            ("McNemar p", fmt(comparison.get("mcnemar_p"))),
            ("flips", f"{flips.get('fixed')} fixed, {flips.get('broken')} broken")]))
    parts.extend(confusion(model, result["confusion_matrix"]) for model, result in results.items()
                 if result.get("confusion_matrix"))
    return Group(*parts)


def confusion(model: str, matrix: dict[str, Any]) -> Table:
    table = Table("true \\ predicted", *matrix["labels"], title=f"confusion matrix: {model}",
                  title_justify="left")
    for label, row in zip(matrix["labels"], matrix["matrix"], strict=False):
        table.add_row(label, *(str(n) for n in row))
    return table


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)
