"""What a job looks like from outside at a given moment: the job object, events, checkpoints."""

import math
from typing import Any

from emulator import lifecycle as lc
from emulator.catalog import ORGANIZATION_ID
from emulator.lifecycle import Job

Event = tuple[float, str, str, str, dict[str, Any]]  # v, level, type, message, data


def render_job(job: Job, now: float) -> dict[str, Any]:
    """The FineTuningJob object."""
    state = lc.status(job, now)
    files_ok = job.failure is None or job.fail_at_step is not None
    validated = files_ok and lc.clock(job, now) >= lc.VALIDATING
    hyper = resolved_hyperparameters(job) if validated else requested_hyperparameters(job)
    finished = None
    if state in lc.TERMINAL:
        end = job.cancelled_at if job.cancelled else lc.real_at(job, lc.end_v(job))
        finished = int(end) if math.isfinite(end) else None
    estimated = None
    if state in ("queued", "running"):
        at = lc.real_at(job, lc.done_v(job))
        estimated = int(at) if math.isfinite(at) else None
    method_hyper = dict(hyper) if job.method == "supervised" else {**hyper, "beta": job_beta(
        job, validated)}
    return {
        "id": job.id, "object": "fine_tuning.job", "created_at": int(job.created),
        "error": job.failure if state == "failed" else None,
        "fine_tuned_model": job.fine_tuned_model if state == "succeeded" else None,
        "finished_at": finished, "hyperparameters": hyper, "model": job.model,
        "organization_id": ORGANIZATION_ID,
        "result_files": [job.result_file_id] if job.result_file_id else [],
        "seed": job.seed, "status": state,
        "trained_tokens": job.training.tokens_per_epoch * job.n_epochs
        if state == "succeeded" else None,
        "training_file": job.training_file, "validation_file": job.validation_file,
        "estimated_finish": estimated, "integrations": [], "metadata": job.metadata,
        "method": {"type": job.method, job.method: {"hyperparameters": method_hyper}},
        "user_provided_suffix": job.suffix,
    }


def requested_hyperparameters(job: Job) -> dict[str, Any]:
    return {key: job.requested.get(key) or "auto"
            for key in ("batch_size", "learning_rate_multiplier", "n_epochs")}


def resolved_hyperparameters(job: Job) -> dict[str, Any]:
    return {"batch_size": job.batch_size, "learning_rate_multiplier": job.learning_rate_multiplier,
            "n_epochs": job.n_epochs}


def job_beta(job: Job, validated: bool) -> Any:
    return job.beta if validated else job.requested.get("beta") or "auto"


def planned_events(job: Job) -> list[Event]:
    """Every event the job will emit if nothing interrupts it, oldest first."""
    files = f"Validating training file: {job.training_file}"
    if job.validation_file:
        files += f" and validation file: {job.validation_file}"
    events: list[Event] = [(0.0, "info", "message", f"Created fine-tuning job: {job.id}", {}),
                           (0.0, "info", "message", files, {})]
    if job.failure is not None and job.fail_at_step is None:
        return events + failure_events(job, lc.VALIDATING)
    events += [(lc.VALIDATING, "info", "message", "Files validated, moving job to queued state",
                {}), (lc.START, "info", "message", "Fine-tuning job started", {})]
    checkpoints = set(lc.checkpoint_steps(job))
    last = job.total_steps if job.fail_at_step is None else job.fail_at_step - 1
    for step in range(1, last + 1):
        v = lc.START + step * lc.STEP
        events.append((v, "info", "metrics", step_message(job, step), step_data(job, step)))
        if step in checkpoints:
            events.append((v, "info", "message", f"Checkpoint created at step {step}", {}))
    if job.fail_at_step is not None:
        return events + failure_events(job, lc.START + job.fail_at_step * lc.STEP)
    done = lc.done_v(job)
    return [
        *events,
        (done - lc.FINISHING, "info", "message", "Evaluating model against our usage policies",
         {}),
        (done, "info", "message", "New fine-tuned model created", {}),
        (done, "info", "message",
         "Usage policy evaluations completed, model is now enabled for sampling", {}),
        (done, "info", "message", "The job has successfully completed", {})]


def failure_events(job: Job, v: float) -> list[Event]:
    assert job.failure is not None
    return [(v, "error", "message", job.failure["message"], {}),
            (v, "error", "message", "The job has failed", {})]


def step_message(job: Job, step: int) -> str:
    point = job.points[step - 1]
    text = f"Step {step}/{job.total_steps}: training loss={point.train_loss:.4f}"
    if point.valid_loss is not None:
        text += f", validation loss={point.valid_loss:.4f}"
    return text


def step_data(job: Job, step: int) -> dict[str, Any]:
    point = job.points[step - 1]
    data: dict[str, Any] = {"step": step, "train_loss": point.train_loss,
                            "train_mean_token_accuracy": point.train_accuracy,
                            "total_steps": job.total_steps}
    if point.valid_loss is not None:
        data.update(valid_loss=point.valid_loss, valid_mean_token_accuracy=point.valid_accuracy)
    return data


def events(job: Job, now: float) -> list[dict[str, Any]]:
    """The events that have happened by `now`, newest first."""
    v_now = lc.clock(job, now)
    happened = [(v, 0, i, lc.real_at(job, v), level, kind, message, data)
                for i, (v, level, kind, message, data) in enumerate(planned_events(job))
                if v <= v_now]
    happened += [(v, 1, i, real, level, "message", message, {})
                 for i, (v, real, level, message) in enumerate(job.actions)]
    happened.sort(key=lambda e: (e[0], e[1], e[2]))
    rendered = [{"id": lc.stable_id("ftevent-", job.id, group, i),
                 "object": "fine_tuning.job.event", "created_at": int(real), "level": level,
                 "message": message, "data": data, "type": kind}
                for _, group, i, real, level, kind, message, data in happened]
    return rendered[::-1]


def checkpoints(job: Job, now: float) -> list[dict[str, Any]]:
    """The checkpoints saved by `now`, newest first."""
    done = lc.steps_done(job, lc.clock(job, now))
    found = []
    for step in lc.checkpoint_steps(job):
        if step > done:
            continue
        point = job.points[step - 1]
        metrics = {"step": float(step), "train_loss": point.train_loss,
                   "train_mean_token_accuracy": point.train_accuracy,
                   "valid_loss": point.valid_loss,
                   "valid_mean_token_accuracy": point.valid_accuracy,
                   "full_valid_loss": None if point.valid_loss is None
                   else round(point.valid_loss * 0.98, 5),
                   "full_valid_mean_token_accuracy": point.valid_accuracy}
        found.append({"id": lc.stable_id("ftckpt_", job.id, step),
                      "object": "fine_tuning.job.checkpoint",
                      "created_at": int(lc.real_at(job, lc.START + step * lc.STEP)),
                      "fine_tuned_model_checkpoint": f"{job.fine_tuned_model}:ckpt-step-{step}",
                      "fine_tuning_job_id": job.id, "metrics": metrics, "step_number": step})
    return found[::-1]
