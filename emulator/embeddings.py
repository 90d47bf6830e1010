"""POST /v1/embeddings: deterministic unit vectors seeded by the text."""

import base64
import hashlib
from typing import Any

import numpy as np
from fastapi import APIRouter
from starlette.requests import Request

from emulator import tokens
from emulator.errors import invalid, missing
from emulator.models import resolve
from emulator.parse import read_json
from emulator.state import State, of

router = APIRouter(prefix="/v1")
MAX_INPUTS = 2048


@router.post("/embeddings")
async def create(request: Request) -> dict[str, Any]:
    state = of(request)
    response = create_embeddings(state, await read_json(request))
    state.embeddings[response["model"]] += 1
    return response


def create_embeddings(state: State, body: dict[str, Any]) -> dict[str, Any]:
    """The CreateEmbeddingResponse for a request body."""
    model = resolve(state, body.get("model"))
    if model.kind != "embedding":
        raise invalid(f"The model `{model.id}` does not support embeddings.", "model",
                      "model_not_supported")
    inputs = check_inputs(body.get("input"))
    size = check_dimensions(body.get("dimensions"), model.id, model.dimensions)
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        raise invalid("Invalid 'encoding_format': expected 'float' or 'base64'.",
                      "encoding_format", "invalid_value")
    data, used = [], 0
    for index, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(map(str, item))
        used += tokens.count(item, model.encoding) if isinstance(item, str) else len(item)
        vector = embed(model.id, text, model.dimensions, size)
        value: Any = base64.b64encode(vector.tobytes()).decode() \
            if encoding_format == "base64" else vector.tolist()
        data.append({"object": "embedding", "index": index, "embedding": value})
    return {"object": "list", "data": data, "model": model.id,
            "usage": {"prompt_tokens": used, "total_tokens": used}}


def embed(model: str, text: str, native: int, size: int) -> np.ndarray:
    """A unit vector (float32, little-endian) that depends only on model and text."""
    seed = int.from_bytes(hashlib.sha256(f"{model}\0{text}".encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(native)[:size]
    return (vector / np.linalg.norm(vector)).astype("<f4")


def check_inputs(raw: object) -> list[Any]:
    if raw is None:
        raise missing("input")
    if isinstance(raw, str) or (isinstance(raw, list) and raw and all(
            isinstance(t, int) and not isinstance(t, bool) for t in raw)):
        raw = [raw]
    if not isinstance(raw, list) or not raw or len(raw) > MAX_INPUTS:
        raise invalid("'$.input' is invalid: expected a string or a non-empty array of at most "
                      f"{MAX_INPUTS} strings or token arrays.", "input", "invalid_value")
    for item in raw:
        valid_tokens = isinstance(item, list) and item and all(
            isinstance(t, int) and not isinstance(t, bool) for t in item)
        if not (isinstance(item, str) and item) and not valid_tokens:
            raise invalid("'$.input' is invalid: inputs must be non-empty strings or token "
                          "arrays.", "input", "invalid_value")
    return raw


def check_dimensions(dimensions: object, model: str, native: int) -> int:
    if dimensions is None:
        return native
    if not model.startswith("text-embedding-3"):
        raise invalid(f"This model does not support specifying dimensions: {model}.",
                      "dimensions", "unsupported_parameter")
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) \
            or not 1 <= dimensions <= native:
        raise invalid(f"Invalid 'dimensions': expected an integer between 1 and {native}.",
                      "dimensions", "invalid_value")
    return dimensions
