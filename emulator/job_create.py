"""POST /v1/fine_tuning/jobs: OpenAI's checks, then a planned Job."""

import asyncio
import secrets
from typing import Any

from emulator import lifecycle as lc
from emulator.catalog import BASE_MODELS, ORGANIZATION_NAME, ModelSpec
from emulator.errors import APIError, invalid, missing
from emulator.parse import check_metadata
from emulator.state import ALPHABET, State, new_id, now
from emulator.training import analyze

LIMITS = {"n_epochs": (1, 50), "batch_size": (1, 256)}
NUMBERS = {"learning_rate_multiplier": (0.0, 10.0), "beta": (0.0, 2.0)}


async def create_job(state: State, body: dict[str, Any]) -> lc.Job:
    """A new job, or APIError naming the parameter at fault."""
    model, spec = check_model(state, body.get("model"))
    training = check_file(state, body.get("training_file"), "training_file")
    validation = None
    if body.get("validation_file") is not None:
        validation = check_file(state, body["validation_file"], "validation_file")
    method, requested = check_method(body, spec)
    suffix = check_suffix(body.get("suffix"))
    seed = check_seed(body.get("seed"))
    metadata = check_metadata(body.get("metadata"))
    training_analysis, validation_analysis = await asyncio.gather(
        asyncio.to_thread(analyze, state.files[training].content, spec, method),
        asyncio.to_thread(analyze, state.files[validation].content, spec, method,
                          min_examples=1) if validation else none())
    check_capacity(state, model)
    job = lc.Job(
        id=new_id("ftjob-"), created=now(), model=model, base=spec.resolved,
        training_file=training, validation_file=validation, method=method, requested=requested,
        suffix=suffix, seed=seed, metadata=metadata, training=training_analysis,
        validation=validation_analysis, speed=state.speed,
        fine_tuned_model=f"ft:{spec.resolved}:{ORGANIZATION_NAME}:{suffix or ''}:"
                         + "".join(secrets.choice(ALPHABET) for _ in range(8)))
    lc.plan(job)
    apply_failures(state, job)
    return job


async def none() -> None:
    return None


def check_model(state: State, model: object) -> tuple[str, ModelSpec]:
    """The model the job will report and the base spec it trains."""
    if not model:
        raise missing("model")
    if not isinstance(model, str):
        raise invalid("Invalid type for 'model': expected a string.", "model", "invalid_type")
    if model.startswith("ft:"):
        parent = state.models.get(model)
        spec = BASE_MODELS.get(parent.base) if parent and not parent.deleted else None
        if spec is not None:
            return model, spec
    else:
        spec = BASE_MODELS.get(model)
        if spec is not None and spec.tunable:
            return spec.resolved, BASE_MODELS[spec.resolved]
    raise invalid(f"Model {model} is not available for fine-tuning or does not exist.",
                  "model", "model_not_available")


def check_file(state: State, file_id: object, param: str) -> str:
    if not file_id:
        raise missing(param)
    if not isinstance(file_id, str) or file_id not in state.files:
        raise invalid(f"Invalid file ID: {file_id}. No such file.", param, "file_not_found")
    purpose = state.files[file_id].purpose
    if purpose != "fine-tune":
        raise invalid(f"File {file_id} has purpose '{purpose}', but fine-tuning requires a file "
                      "uploaded with purpose 'fine-tune'.", param, "invalid_file_purpose")
    return file_id


def check_method(body: dict[str, Any], spec: ModelSpec) -> tuple[str, dict[str, Any]]:
    """The method type and its requested hyperparameters (legacy or method form)."""
    legacy = body.get("hyperparameters")
    method = body.get("method")
    if method is None:
        return "supervised", check_hyperparameters(legacy, "hyperparameters", dpo=False)
    if not isinstance(method, dict):
        raise invalid("Invalid type for 'method': expected an object.", "method", "invalid_type")
    kind = method.get("type")
    if kind not in ("supervised", "dpo", "reinforcement"):
        raise invalid(f"Invalid value for 'method.type': {kind!r}. Supported values are: "
                      "'supervised', 'dpo' and 'reinforcement'.", "method.type", "invalid_value")
    if (kind != "supervised" and not spec.dpo) or kind == "reinforcement":
        raise invalid(f"Model {spec.resolved} does not support the {kind} method.",
                      "method.type", "unsupported_method")
    section = method.get(kind) or {}
    if not isinstance(section, dict):
        raise invalid(f"Invalid type for 'method.{kind}': expected an object.", f"method.{kind}")
    hyper = section.get("hyperparameters")
    if legacy and hyper:
        raise invalid("Specify hyperparameters in 'method' or at the top level, not both.",
                      "hyperparameters", "conflicting_parameters")
    return kind, check_hyperparameters(hyper or legacy, f"method.{kind}.hyperparameters",
                                       dpo=kind == "dpo")


def check_hyperparameters(hyper: object, where: str, *, dpo: bool) -> dict[str, Any]:
    if hyper is None:
        return {}
    if not isinstance(hyper, dict):
        raise invalid(f"Invalid type for '{where}': expected an object.", where, "invalid_type")
    allowed = {*LIMITS, *NUMBERS} - (set() if dpo else {"beta"})
    for key, value in hyper.items():
        param = f"{where}.{key}"
        if key not in allowed:
            raise invalid(f"Unknown parameter: '{param}'.", param, "unknown_parameter")
        if value == "auto":
            continue
        if key in LIMITS:
            low, high = LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise invalid(f"Invalid '{param}': expected 'auto' or an integer between {low} "
                              f"and {high}.", param, "invalid_value")
        else:
            floor, top = NUMBERS[key]
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not floor < value <= top:
                raise invalid(f"Invalid '{param}': expected 'auto' or a number greater than "
                              f"{floor} and at most {top}.", param, "invalid_value")
    return dict(hyper)


def check_suffix(suffix: object) -> str | None:
    if suffix is None or suffix == "":
        return None
    if not isinstance(suffix, str):
        raise invalid("Invalid type for 'suffix': expected a string.", "suffix", "invalid_type")
    if len(suffix) > 64:
        raise invalid(f"Invalid 'suffix': string too long. Expected a string with maximum length "
                      f"64, but got a string with length {len(suffix)} instead.", "suffix",
                      "string_above_max_length")
    return suffix


def check_seed(seed: object) -> int:
    if seed is None:
        return secrets.randbelow(2**31)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**31 - 1:
        raise invalid("Invalid 'seed': expected an integer between 0 and 2147483647.", "seed",
                      "invalid_value")
    return seed


def check_capacity(state: State, model: str) -> None:
    """OpenAI refuses a job beyond the account's active-job limit for a model with a 429."""
    limit = state.faults.active_job_limit
    if limit is None:
        return
    at = now()
    active = sum(1 for job in state.jobs.values()
                 if job.model == model and lc.status(job, at) not in lc.TERMINAL)
    if active >= limit:
        raise APIError(429, f"This fine-tuning request would exceed your active job limit of "
                            f"{limit} for model {model}. Wait for a running job to finish or "
                            "cancel one, then try again.", code="rate_limit_exceeded")


def apply_failures(state: State, job: lc.Job) -> None:
    """Invalid files fail validation; injected faults fail or stall the next jobs."""
    for analysis, param in ((job.training, "training_file"), (job.validation, "validation_file")):
        if analysis is not None and analysis.error is not None:
            kind = param.removesuffix("_file")
            job.failure = {"code": f"invalid_{param}", "param": param,
                           "message": f"The job failed due to an invalid {kind} file. "
                                      f"{analysis.error}"}
            return
    faults = state.faults
    if faults.fail_next_jobs["count"] > 0:
        faults.fail_next_jobs["count"] -= 1
        job.failure = {"code": faults.fail_next_jobs["code"], "param": None,
                       "message": faults.fail_next_jobs["message"]}
        job.fail_at_step = max(1, (job.total_steps + 1) // 2)
    if faults.stall_next_jobs > 0:
        faults.stall_next_jobs -= 1
        job.stall_v = lc.START + lc.STEP * (min(2, job.total_steps) - 0.5)

