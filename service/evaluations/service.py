"""What the evaluation routes call: create, get, page, cancel, predictions."""

import csv
import io
from collections.abc import Iterator

from rq import Retry

from service import clock, ids, overdue
from service.context import Context
from service.datasets import ingest
from service.datasets import service as datasets
from service.datasets.models import Dataset, DatasetFormat
from service.errors import (
    DatasetFormatMismatch,
    EvaluationNotFound,
    InvalidCursor,
    InvalidEvaluationState,
    InvalidJobState,
    ModelNotAvailable,
    ModelNotFound,
)
from service.evaluations import predictions, states
from service.evaluations.models import (
    TERMINAL,
    Evaluation,
    EvaluationCreate,
    EvaluationProgress,
    EvaluationStatus,
    Prediction,
    parse_field,
)
from service.evaluations.scoring import ScoringMode
from service.finetuned import registry
from service.jobs import service as jobs
from service.jobs.models import JobStatus
from service.logs import log
from service.pagination import Page, take_page
from service.spreadsheet import safe_row
from service.store import keys
from service.store.locks import LockName
from service.tasks import Task

OVERDUE_GRACE = 300.0  # seconds a queued run may wait for a worker before it counts as lost
CSV_FIELDS = ("index", "model", "expected", "output", "predicted_label", "correct", "invalid",
              "latency_ms", "prompt_tokens", "completion_tokens", "error")


def create(ctx: Context, project_id: str, body: EvaluationCreate) -> Evaluation:
    """Check the dataset and models, record the evaluation as queued and queue its run."""
    dataset = usable_dataset(ctx, project_id, body.dataset)
    models = body.models if body.models is not None else job_models(ctx, project_id, body.job)
    for position, model in enumerate(models):
        check_model(ctx, project_id, model, f"body.models[{position}]",
                    from_job=body.job is not None)
    now = clock.now()
    evaluation = Evaluation(
        id=ids.new_id("evaluation"), created_at=now, updated_at=now, project_id=project_id,
        dataset=dataset.id, models=models, job=body.job,
        scoring=body.scoring or default_scoring(ctx, dataset), mode=body.mode,
        max_examples=body.max_examples, temperature=body.temperature,
        max_tokens=body.max_tokens, concurrency=body.concurrency)
    ctx.store.create(evaluation, project_id)
    queue_run(ctx, evaluation.id)
    log.info("evaluation.created", evaluation_id=evaluation.id, models=models, mode=body.mode)
    return evaluation


def queue_run(ctx: Context, evaluation_id: str, delay: float = 0.0) -> None:
    """Queue a run (after delay seconds); a worker killed under it retries it at once, and
    the lease makes that retry wait until the dead run's lease lapses."""
    # The timeout only backs up the slice: in-flight requests may still be retrying after it.
    options = {"retry": Retry(max=3), "job_timeout": int(ctx.settings.evaluation_slice_seconds)
               + 1800}
    overdue.expect(ctx, keys.evaluations_due(), evaluation_id, delay, OVERDUE_GRACE)
    ctx.enqueue(Task.run_evaluation, evaluation_id, delay=delay, **options)


def requeue_overdue(ctx: Context) -> int:
    """Queue again the runs lost with a worker killed more often than its retries, or with
    the queue."""
    return overdue.requeue(ctx, keys.evaluations_due(), Evaluation, TERMINAL,
                           LockName.evaluation, queue_run)


def usable_dataset(ctx: Context, project_id: str, dataset_id: str) -> Dataset:
    dataset = datasets.ready(ctx, project_id, dataset_id)
    if dataset.format != DatasetFormat.chat:
        raise DatasetFormatMismatch(
            f"An evaluation needs a chat dataset; {dataset_id} is {dataset.format}"
            + (" (convert it first)." if dataset.format != DatasetFormat.preference else "."),
            errors=[{"field": "body.dataset", "message": f"format {dataset.format}"}])
    return dataset


def job_models(ctx: Context, project_id: str, job_id: str | None) -> list[str]:
    """A succeeded job's fine-tuned model, then its base model."""
    job = jobs.get(ctx, project_id, job_id or "")
    if job.status != JobStatus.succeeded or not job.fine_tuned_model:
        raise InvalidJobState(f"Job {job.id} is {job.status}; only a succeeded job's model can "
                              "be evaluated.",
                              errors=[{"field": "body.job", "message": f"status {job.status}"}])
    return [job.fine_tuned_model, job.model]


def check_model(ctx: Context, project_id: str, model: str, field: str, from_job: bool) -> None:
    """The project's active fine-tuned models and the configured base models may be evaluated."""
    owned = registry.owned(ctx, project_id, model)
    if owned is not None and owned.status == "active":
        return
    base = ctx.settings.chat_models + (ctx.settings.tunable_models if from_job else [])
    if owned is None and model in base:
        return
    if owned is None and model.startswith("ft:"):
        raise ModelNotFound(model)  # as on POST /v1/jobs: a fine-tuned model not of this project
    why = ("it was deleted" if owned is not None else
           "it is neither one of this project's fine-tuned models nor a configured base model "
           f"({', '.join(ctx.settings.chat_models)})")
    raise ModelNotAvailable(f"Model {model!r} cannot be evaluated: {why}.",
                            errors=[{"field": field, "message": f"{model} is not available"}])


def default_scoring(ctx: Context, dataset: Dataset) -> ScoringMode:
    """`label` when the dataset's answers are labels (its report found few distinct answers,
    or a conversion mapped them), else `normalized`."""
    if dataset.label_hint:
        return "label"
    report = ingest.cached_report(ctx, dataset.id, ctx.settings.default_model)
    return "label" if report and report.get("labels") else "normalized"


def get(ctx: Context, project_id: str, evaluation_id: str) -> Evaluation:
    evaluation = ctx.store.get(Evaluation, evaluation_id)
    if evaluation is None or evaluation.project_id != project_id:
        raise EvaluationNotFound(evaluation_id)
    return with_live_progress(ctx, [evaluation])[0]


def page(ctx: Context, project_id: str, limit: int, after: str | None) -> Page[Evaluation]:
    if after is not None:
        get(ctx, project_id, after)
    found = take_page(ctx.store.scan(Evaluation, project_id, after=after), limit)
    found.data = with_live_progress(ctx, found.data)
    return found


def with_live_progress(ctx: Context, evaluations: list[Evaluation]) -> list[Evaluation]:
    """Unfinished evaluations count their stored answers (and answers a batch holds)."""
    active = [e for e in evaluations if e.status not in TERMINAL]
    stored = dict(zip([e.id for e in active], predictions.counts(ctx, [e.id for e in active]),
                      strict=True))
    return [e if e.id not in stored else e.evolve(progress=EvaluationProgress(
        done=stored[e.id] + sum(p.answered for p in e.batch_parts if not p.collected),
        total=e.progress.total)) for e in evaluations]


def cancel(ctx: Context, project_id: str, evaluation_id: str) -> Evaluation:
    """Cancel at once; a running task stops at its next check (a provider batch is cancelled)."""
    get(ctx, project_id, evaluation_id)
    moved = states.move(ctx, evaluation_id, EvaluationStatus.cancelled)
    if moved is None:
        current = get(ctx, project_id, evaluation_id)
        raise InvalidEvaluationState(
            f"Evaluation {evaluation_id} is {current.status}; only a queued or running "
            "evaluation can be cancelled.")
    if moved.mode == "batch" and any(p.batch_id for p in moved.batch_parts):
        queue_run(ctx, evaluation_id)
    log.info("evaluation.cancelled", evaluation_id=evaluation_id)
    return get(ctx, project_id, evaluation_id)


def page_predictions(ctx: Context, project_id: str, evaluation_id: str, limit: int,
                     after: str | None, model: str | None,
                     correct: bool | None) -> Page[Prediction]:
    """Predictions oldest first by example index (then model order), filtered."""
    evaluation = get(ctx, project_id, evaluation_id)
    start = (0, 0)
    if after is not None:
        start = cursor_after(evaluation, after)
    page = take_page(scan_predictions(ctx, evaluation, model, correct, start), limit)
    page.data = predictions.with_inputs(ctx, evaluation.id, page.data)
    return page


def cursor_after(evaluation: Evaluation, after: str) -> tuple[int, int]:
    try:
        model, index = parse_field(after)
        position = evaluation.models.index(model)
    except ValueError:
        raise InvalidCursor(f"{after!r} is not a prediction id of this evaluation.",
                            errors=[{"field": "query.after", "message": "unknown id"}]) from None
    following = position + 1
    return (index, following) if following < len(evaluation.models) else (index + 1, 0)


def scan_predictions(ctx: Context, evaluation: Evaluation, model: str | None,
                     correct: bool | None, start: tuple[int, int] = (0, 0)
                     ) -> Iterator[Prediction]:
    models = [m for m in evaluation.models if model is None or m == model]
    for prediction in predictions.in_order(ctx, evaluation, models, start):
        if correct is None or prediction.correct == correct:
            yield prediction


def predictions_csv(ctx: Context, project_id: str, evaluation_id: str, model: str | None,
                    correct: bool | None) -> Iterator[str]:
    """The same rows as CSV, streamed: a header, then one line per prediction."""
    evaluation = get(ctx, project_id, evaluation_id)
    rows = scan_predictions(ctx, evaluation, model, correct)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        for number, prediction in enumerate(rows, start=1):
            writer.writerow(safe_row(csv_row(prediction)))
            if number % 200 == 0:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return lines()


def csv_row(prediction: Prediction) -> list[str | int | float]:
    values = prediction.model_dump()
    values["error"] = values["error"]["message"] if values["error"] else ""
    return [("true" if value else "false") if isinstance(value, bool)
            else "" if value is None else value
            for value in (values[field] for field in CSV_FIELDS)]
