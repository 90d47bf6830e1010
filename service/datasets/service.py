"""What the dataset routes call."""

import contextlib
import csv
import hashlib
import io
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from service import clock, faults, ids
from service.context import Context
from service.datasets import backlog, ingest, repository, upload
from service.datasets.convert import ConvertRequest, convert_file
from service.datasets.formats import guess_format
from service.datasets.models import (
    Conversion,
    Dataset,
    DatasetFormat,
    DatasetRows,
    DatasetStatus,
    storage_name,
)
from service.datasets.pricing import load_prices
from service.datasets.split import SplitRequest, split_file
from service.datasets.tokens import encoding_for
from service.deletion import Deleted
from service.errors import (
    DatasetInUse,
    DatasetNotFound,
    DatasetNotReady,
    InvalidFile,
    InvalidRequest,
    ProviderRejected,
)
from service.evaluations.models import TERMINAL as EVALUATION_TERMINAL
from service.evaluations.models import Evaluation
from service.jobs.models import TERMINAL, Job
from service.logs import log
from service.pagination import Page, take_page
from service.store.clients import Pipeline
from service.tasks import Task

CHUNK = 1 << 16


def get(ctx: Context, project_id: str, dataset_id: str) -> Dataset:
    dataset = ctx.store.get(Dataset, dataset_id)
    if dataset is None or dataset.project_id != project_id:
        raise DatasetNotFound(dataset_id)
    return dataset


def page(ctx: Context, project_id: str, limit: int, after: str | None,
         parent_id: str | None = None) -> Page[Dataset]:
    if after is not None:
        get(ctx, project_id, after)
    found = ctx.store.scan(Dataset, project_id, after=after)
    if parent_id is not None:
        found = (dataset for dataset in found if dataset.parent_id == parent_id)
    return take_page(found, limit)


def parse_format(value: str | None) -> str:
    value = (value or "auto").strip().lower()
    allowed = ["auto", *DatasetFormat]
    if value not in allowed:
        raise InvalidRequest(f"format must be one of {', '.join(allowed)}.",
                             errors=[{"field": "body.format", "message": f"unknown {value!r}"}])
    return value


def printable(text: str) -> str:
    """text without control characters (NUL, CR, LF…): names end up in headers and logs."""
    return "".join(c for c in text if c.isprintable()).strip()


def filename_of(received: upload.Received) -> str:
    """The client's file name without directories or control characters."""
    base = printable(received.filename).replace("\\", "/").rsplit("/", 1)[-1]
    return base[:255] if base not in ("", ".", "..") else "upload"


@dataclass(frozen=True)
class StoredUpload:
    """An uploaded file in storage, checked, not yet recorded as a dataset."""
    dataset_id: str
    received: upload.Received
    declared: str  # the format the client named, or "auto"


async def store_upload(ctx: Context, project_id: str, stream: AsyncIterator[bytes],
                       content_type: str) -> StoredUpload:
    """Store an uploaded file under a new dataset id, refused when the project's backlog is
    full, the format unknown or the file empty."""
    backlog.check_room(ctx, project_id)
    dataset_id = ids.new_id("dataset")
    with ctx.storage.writer(storage_name(dataset_id)) as out:
        received = await upload.receive(stream, content_type, out, ctx.settings.max_upload_bytes)
        declared = parse_format(received.fields.get("format"))
        if received.bytes == 0:
            raise InvalidFile("The file is empty.", errors=[{"field": "body.file",
                                                              "message": "0 bytes"}])
    return StoredUpload(dataset_id, received, declared)


def discard_upload(ctx: Context, stored: StoredUpload) -> None:
    ctx.storage.delete(storage_name(stored.dataset_id))


def record_upload(ctx: Context, project_id: str, stored: StoredUpload,
                  with_dataset: Callable[[Pipeline, Dataset], None] | None = None) -> Dataset:
    """Record the stored file as a dataset, `processing`; validation runs in a worker.

    with_dataset adds writes (the answer to replay) to the transaction that records it."""
    received, declared = stored.received, stored.declared
    fmt = DatasetFormat(guess_format(received.head) if declared == "auto" else declared)
    dataset = Dataset(id=stored.dataset_id, created_at=clock.now(), updated_at=clock.now(),
                      project_id=project_id,
                      name=printable(received.fields.get("name") or "") or filename_of(received),
                      filename=filename_of(received), format=fmt, status=DatasetStatus.processing,
                      bytes=received.bytes, sha256=received.sha256,
                      format_declared=declared != "auto")
    expected = backlog.expect_validation(ctx, dataset)

    def with_task(pipe: Pipeline) -> None:
        """The record, its validation task and what with_dataset adds: never one without the
        rest, whenever the process dies."""
        expected(pipe)
        ctx.enqueue(Task.validate_dataset, dataset.id, pipeline=pipe)
        if with_dataset is not None:
            with_dataset(pipe, dataset)

    ctx.store.create(dataset, project_id, also_write=with_task)
    faults.point(ctx, "datasets.upload.recorded")
    log.info("dataset.uploaded", dataset_id=dataset.id, bytes=dataset.bytes, format=fmt)
    return dataset


def content(ctx: Context, dataset: Dataset) -> Iterator[bytes]:
    with ctx.storage.reader(dataset.storage_name) as file:
        while chunk := file.read(CHUNK):
            yield chunk


def rows(ctx: Context, dataset: Dataset, offset: int, limit: int) -> DatasetRows:
    """Parsed rows offset..offset+limit: JSON lines (blank ones skipped) or CSV records."""
    data: list[dict[str, Any]] = []
    with ctx.storage.reader(dataset.storage_name) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        records = csv_rows(text) if dataset.format == DatasetFormat.csv else json_rows(text)
        for number, row in records:
            if number <= offset:
                continue
            if len(data) >= limit:
                break
            data.append({"row": number, **row})
    return DatasetRows.model_validate({"data": data, "offset": offset, "limit": limit,
                                       "total": dataset.rows})


def csv_rows(text: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, record in enumerate(csv.DictReader(text), start=1):
        yield number, {"data": record}


def json_rows(text: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, Any]]]:
    number = 0
    for line in text:
        if not line.strip():
            continue
        number += 1
        try:
            yield number, {"data": orjson.loads(line)}
        except orjson.JSONDecodeError as exc:
            yield number, {"error": f"invalid JSON: {exc}"}


def delete(ctx: Context, project_id: str, dataset_id: str) -> Deleted:
    """Delete the file, its provider copies and the record; repeating it answers the same."""
    if ctx.store.was_deleted(Dataset, dataset_id, project_id):
        return Deleted(id=dataset_id, object="dataset")
    dataset = get(ctx, project_id, dataset_id)
    users = [f"job {job.id}" for job in ctx.store.scan(Job, project_id)
             if job.status not in TERMINAL
             and dataset_id in (job.training_dataset, job.validation_dataset)]
    users += [f"evaluation {evaluation.id}" for evaluation in ctx.store.scan(Evaluation, project_id)
              if evaluation.status not in EVALUATION_TERMINAL and evaluation.dataset == dataset_id]
    if users:
        raise DatasetInUse(f"Dataset {dataset_id} is used by active {users[0]}; cancel it or "
                           "wait for it to finish.")
    for file_id in dataset.provider_files.values():
        with contextlib.suppress(ProviderRejected):  # already gone on the provider
            ctx.provider.delete_file(file_id)
    ctx.store.bury(Dataset, dataset_id, project_id)
    repository.leave_backlog(ctx.redis, project_id, dataset_id)
    ctx.storage.delete(storage_name(dataset_id))
    return Deleted(id=dataset_id, object="dataset")


def report(ctx: Context, dataset: Dataset, model: str | None = None) -> dict[str, Any]:
    """The validation, token and cost report for a model (kept once computed)."""
    model = model or ctx.settings.default_model
    if dataset.status == DatasetStatus.processing:
        raise DatasetNotReady(f"Dataset {dataset.id} is still being validated; try again shortly.",
                              headers={"Retry-After": "2"})
    load_prices(ctx.settings.price_table).resolve(model)
    cached = ingest.cached_report(ctx, dataset.id, model)
    if cached is not None:
        return cached
    with ctx.storage.local_path(dataset.storage_name) as path:
        return ingest.compute_report(ctx, dataset, dataset.format, path, model)


def create_derived(ctx: Context, parent: Dataset, path: Path, *, name: str, derived_by: str,
                   filename: str, **fields: Any) -> Dataset:
    """Store a file made from parent as a new dataset and validate it."""
    dataset_id = ids.new_id("dataset")
    digest, size = hashlib.sha256(), 0
    with ctx.storage.writer(storage_name(dataset_id)) as out, path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    now = clock.now()
    dataset = Dataset(id=dataset_id, created_at=now, updated_at=now, project_id=parent.project_id,
                      name=name, filename=filename, format=parent.format,
                      status=DatasetStatus.processing, bytes=size, sha256=digest.hexdigest(),
                      parent_id=parent.id, derived_by=derived_by, **fields)
    ctx.store.create(dataset, parent.project_id, backlog.expect_validation(ctx, dataset))
    if size <= ctx.settings.inline_validation_bytes:
        ingest.validate(ctx, dataset_id)
    else:
        ctx.enqueue(Task.validate_dataset, dataset_id)
    return get(ctx, parent.project_id, dataset_id)


def convert(ctx: Context, project_id: str, dataset_id: str, body: ConvertRequest) -> Dataset:
    parent = ready(ctx, project_id, dataset_id)
    target = DatasetFormat.chat if body.target == "chat" else DatasetFormat.prompt_completion
    encoding_for(ctx.settings.default_model)  # validating the result needs it: fail first
    with ctx.storage.local_path(parent.storage_name) as src, \
            tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "converted.jsonl"
        result = convert_file(src, parent.format, out, body)
        name = body.name or f"{parent.name}-{target}"
        return create_derived(
            ctx, parent, out, name=name, derived_by=f"convert:{target}",
            filename=f"{Path(parent.filename).stem}.{target}.jsonl",
            conversion=Conversion(**result.model_dump()), label_hint=label_hint(body))


def label_hint(body: ConvertRequest) -> list[str] | None:
    """The labels answers take when the assistant template is one mapped column, e.g. {Final}."""
    template = (body.assistant if body.target == "chat" else body.completion) or ""
    column = template.strip()[1:-1] if template.strip().startswith("{") else None
    if column and template.strip() == f"{{{column}}}" and column in body.value_maps:
        return sorted(set(body.value_maps[column].values()))
    return None


def split(ctx: Context, project_id: str, dataset_id: str, body: SplitRequest) -> dict[str, Any]:
    parent = ready(ctx, project_id, dataset_id)
    if parent.format != DatasetFormat.csv:
        encoding_for(ctx.settings.default_model)  # validating the parts needs it: fail first
    with ctx.storage.local_path(parent.storage_name) as src, \
            tempfile.TemporaryDirectory() as folder:
        parts = split_file(src, parent.format, body, Path(folder))
        children = {part: create_derived(
            ctx, parent, piece.path, name=f"{parent.name}-{part}", derived_by=f"split:{part}",
            filename=f"{Path(parent.filename).stem}.{part}{piece.path.suffix}",
            label_hint=parent.label_hint) for part, piece in parts.items()}
    return {"parent_id": parent.id, "splits": children,
            "labels": {part: piece.labels for part, piece in parts.items()}}


def ready(ctx: Context, project_id: str, dataset_id: str) -> Dataset:
    dataset = get(ctx, project_id, dataset_id)
    if dataset.status != DatasetStatus.ready:
        raise DatasetNotReady(f"Dataset {dataset_id} is {dataset.status}"
                              + (f": {dataset.error}" if dataset.error else "."))
    return dataset
