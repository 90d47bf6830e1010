"""What a pipeline request can get wrong, checked before anything runs, so that no money is spent
on a pipeline that cannot finish. Each step checks again when it runs (the datasets it reads may
not be validated yet at creation)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from service.context import Context
from service.datasets import service as datasets
from service.datasets.convert import ConvertRequest, check_fields, parse_template
from service.datasets.models import Dataset, DatasetFormat, DatasetStatus
from service.errors import (
    DatasetFormatMismatch,
    FieldError,
    InvalidRequest,
    ServiceError,
    UnknownColumn,
)
from service.jobs import service as jobs
from service.pipelines.models import PipelineCreate

TEMPLATE_FIELDS = ("system", "user", "assistant", "prompt", "completion")


def check(ctx: Context, project_id: str, body: PipelineCreate) -> Dataset:
    """The pipeline's source dataset, once the whole request is found feasible."""
    source = datasets.get(ctx, project_id, body.dataset)
    if source.status == DatasetStatus.invalid:
        datasets.ready(ctx, project_id, body.dataset)  # raises dataset_not_ready with the reason
    with fields_under("job"):
        method = body.job.resolved_method()
        jobs.check_model(ctx, project_id, body.job.model)
    wanted = DatasetFormat.preference if method.type == "dpo" else DatasetFormat.chat
    known = source.format if source.status == DatasetStatus.ready else None
    if body.convert is not None:
        check_convert(body, source, wanted)
        known = DatasetFormat.chat
    elif known is not None and known != wanted:
        raise DatasetFormatMismatch(
            f"A {method.type} job needs a {wanted} dataset; {source.id} is {known}: add a "
            "convert step or start from another dataset.",
            errors=[{"field": "body.dataset", "message": f"format {known}"}])
    check_split(body, known or wanted)
    if body.evaluate is not None and wanted != DatasetFormat.chat:
        refuse("body.evaluate", "An evaluation needs chat examples; a dpo job trains on "
                                "preference data.", "not available for a dpo job")
    return source


def check_convert(body: PipelineCreate, source: Dataset, wanted: DatasetFormat) -> None:
    convert = body.convert
    assert convert is not None
    if wanted != DatasetFormat.chat or convert.target != "chat":
        refuse("body.convert.target", "The job trains on what convert makes, so convert must "
                                      "target chat for a supervised job (and a dpo job needs "
                                      "no convert).", "must be chat for a supervised job")
    if source.status == DatasetStatus.ready and source.format not in (
            DatasetFormat.csv, DatasetFormat.prompt_completion):
        refuse("body.convert", f"Dataset {source.id} is {source.format}; only csv and "
                               "prompt_completion datasets are converted.",
               f"nothing to convert in a {source.format} dataset")
    if source.format == DatasetFormat.prompt_completion:
        given = [name for name in ("user", "assistant", "value_maps", "on_empty")
                 if name in convert.model_fields_set]
        if given:
            refuse(f"body.convert.{given[0]}", "A prompt_completion dataset converts to chat "
                                               "with at most a system template.",
                   "not used for prompt_completion")
    if source.format == DatasetFormat.csv and (convert.user is None or convert.assistant is None):
        refuse("body.convert.user", "Converting a CSV to chat needs user and assistant templates.",
               "required to convert a CSV")
    if source.columns is not None:
        check_columns(convert, [column.name for column in source.columns])


def check_columns(convert: ConvertRequest, columns: list[str]) -> None:
    """Every template placeholder and value map names one of the CSV's columns."""
    for field in TEMPLATE_FIELDS:
        text = getattr(convert, field)
        if text is not None:
            check_fields(parse_template(text), f"body.convert.{field}", columns)
    for column in convert.value_maps:
        if column not in columns:
            message = f"names column {column!r}, which is not one of: {', '.join(columns)}"
            raise UnknownColumn(f"value_maps {message}.", errors=[
                {"field": f"body.convert.value_maps.{column}", "message": message}])


def check_split(body: PipelineCreate, data: DatasetFormat) -> None:
    """The split gives the job a train part and the evaluation a test part, from data."""
    split = body.split
    if split is None:
        if body.evaluate is not None:
            refuse("body.split", "evaluate runs on the split's test part: add a split with a "
                                 "test fraction.", "required with evaluate")
        return
    if "train" not in split.fractions:
        refuse("body.split.fractions", "The job trains on the split's train part: name a train "
                                       "fraction.", "train is required")
    if body.evaluate is not None and "test" not in split.fractions:
        refuse("body.split.fractions", "evaluate runs on the split's test part: name a test "
                                       "fraction.", "test is required with evaluate")
    if data == DatasetFormat.chat and split.label not in (None, "assistant"):
        refuse("body.split.label", "The split's input is chat data, whose label is "
                                   "'assistant'.", f"{split.label!r} is not a label of chat data")
    if data == DatasetFormat.preference and split.strategy == "stratified":
        refuse("body.split.strategy", "A preference dataset has no label to stratify by; use "
                                      "strategy 'random'.", "no label in preference data")


def refuse(field: str, detail: str, message: str) -> NoReturn:
    raise InvalidRequest(detail, errors=[{"field": field, "message": message}])


@contextmanager
def fields_under(section: str) -> Iterator[None]:
    """Name the fields of errors raised by a step's own checks within the pipeline's body."""
    try:
        yield
    except ServiceError as exc:
        exc.errors = [FieldError(field=error["field"].replace("body.", f"body.{section}.", 1),
                                 message=error["message"]) for error in exc.errors]
        raise
