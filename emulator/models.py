"""/v1/models, and what a model name stands for when a request uses it."""

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from emulator import job_views
from emulator.brain import Brain
from emulator.catalog import BASE_MODELS, ORGANIZATION_ID, OWNER, Kind, base_spec
from emulator.errors import APIError, model_not_found
from emulator.state import State, now, of

router = APIRouter(prefix="/v1/models")
CHECKPOINT = ":ckpt-step-"


@dataclass(frozen=True)
class Resolved:
    id: str  # the name responses report
    kind: Kind
    encoding: str
    dimensions: int
    brain: Brain | None  # set for fine-tuned models and their checkpoints


def resolve(state: State, name: object) -> Resolved:
    """The model behind a name; 404 model_not_found for unknown or deleted ones."""
    if not isinstance(name, str) or not name:
        raise APIError(400, "you must provide a model parameter", param="model",
                       code="missing_required_parameter")
    spec = BASE_MODELS.get(name)
    if spec is not None:
        return Resolved(spec.resolved, spec.kind, spec.encoding, spec.dimensions, None)
    base = base_spec(name)
    brain = fine_tuned_brain(state, name) if base else None
    if base is None or brain is None:
        raise model_not_found(name)
    return Resolved(name, base.kind, base.encoding, 0, brain)


def fine_tuned_brain(state: State, name: str) -> Brain | None:
    model = state.models.get(name)
    if model is not None:
        if model.deleted:
            return None
        if model.brain is None:
            model.brain = Brain(model.examples)
        return model.brain  # type: ignore[no-any-return]
    return checkpoint_brain(state, name)


def checkpoint_brain(state: State, name: str) -> Brain | None:
    """A checkpoint answers like its job's model once it has been saved."""
    parent, _, step = name.rpartition(CHECKPOINT)
    if not step.isdigit():
        return None
    job = next((j for j in state.jobs.values() if j.fine_tuned_model == parent), None)
    if job is None or (parent in state.models and state.models[parent].deleted):
        return None
    if name not in {c["fine_tuned_model_checkpoint"] for c in job_views.checkpoints(job, now())}:
        return None
    if name not in state.checkpoint_brains:
        state.checkpoint_brains[name] = Brain(job.training.examples)
    brain: Brain = state.checkpoint_brains[name]
    return brain


def render_all(state: State) -> list[dict[str, Any]]:
    found = [{"id": s.id, "object": "model", "created": s.created, "owned_by": OWNER}
             for s in BASE_MODELS.values()]
    found += [{"id": m.id, "object": "model", "created": m.created, "owned_by": ORGANIZATION_ID}
              for m in state.models.values() if not m.deleted]
    return found


@router.get("")
async def list_models(request: Request) -> dict[str, Any]:
    return {"object": "list", "data": render_all(of(request))}


@router.get("/{model_id}")
async def retrieve_model(model_id: str, request: Request) -> dict[str, Any]:
    for model in render_all(of(request)):
        if model["id"] == model_id:
            return model
    raise model_not_found(model_id)


@router.delete("/{model_id}")
async def delete_model(model_id: str, request: Request) -> dict[str, Any]:
    state = of(request)
    if model_id in BASE_MODELS:
        raise APIError(403, f"You do not have permission to delete the model {model_id}; only "
                            "fine-tuned models owned by your organization can be deleted.",
                       param="model", code="model_not_deletable")
    model = state.models.get(model_id)
    if model is None or model.deleted:
        raise model_not_found(model_id)
    model.deleted = True
    return {"id": model_id, "object": "model", "deleted": True}
