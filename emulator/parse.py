"""Reading request bodies and query parameters, with OpenAI's 400s for bad ones."""

import json
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from emulator.errors import invalid, missing


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON object in the body."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise invalid("We could not parse the JSON body of your request. (HINT: This likely means "
                      "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                      "payload, but what was sent was not valid JSON.)")
    return body


async def read_form(request: Request) -> FormData:
    """The multipart form; its files are read into memory by the caller."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid("Expected a multipart/form-data body.")
    try:
        return await request.form(max_part_size=64 * 2**20)
    except Exception as exc:
        raise invalid(f"Could not parse the multipart body: {exc}") from exc


def limit(request: Request, default: int = 20, maximum: int = 100) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise invalid(f"Invalid 'limit': expected an integer between 1 and {maximum}.", "limit")
    return value


def required_str(body: dict[str, Any], key: str, max_length: int | None = None) -> str:
    value = body.get(key)
    if value is None or value == "":
        raise missing(key)
    if not isinstance(value, str):
        raise invalid(f"Invalid type for '{key}': expected a string.", key, "invalid_type")
    if max_length is not None and len(value) > max_length:
        raise invalid(f"Invalid '{key}': string too long. Expected a string with maximum length "
                      f"{max_length}, but got a string with length {len(value)} instead.",
                      key, "string_above_max_length")
    return value


def check_metadata(metadata: object) -> dict[str, str] | None:
    """OpenAI's metadata rules: at most 16 string pairs, keys ≤ 64 and values ≤ 512 chars."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise invalid("Invalid type for 'metadata': expected an object.", "metadata",
                      "invalid_type")
    if len(metadata) > 16:
        raise invalid(f"Invalid 'metadata': too many properties. Expected an object with at most "
                      f"16 properties, but got an object with {len(metadata)} properties instead.",
                      "metadata", "object_above_max_properties")
    for key, value in metadata.items():
        if len(key) > 64:
            raise invalid(f"Invalid 'metadata': key {key[:20]!r}… is longer than 64 characters.",
                          f"metadata.{key}", "string_above_max_length")
        if not isinstance(value, str):
            raise invalid(f"Invalid type for 'metadata.{key}': expected a string.",
                          f"metadata.{key}", "invalid_type")
        if len(value) > 512:
            raise invalid(f"Invalid 'metadata.{key}': string too long. Expected a string with "
                          "maximum length 512.", f"metadata.{key}", "string_above_max_length")
    return dict(metadata)
