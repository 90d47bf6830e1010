"""/v1/batches: answers computed at creation, revealed as the batch's clock advances."""

import json
import math
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from emulator import webhooks
from emulator.chat import complete
from emulator.embeddings import create_embeddings
from emulator.errors import APIError, invalid, not_found
from emulator.parse import check_metadata, limit, read_json, required_str
from emulator.state import State, list_body, new_id, now, of, page

router = APIRouter(prefix="/v1/batches")
ENDPOINTS = {"/v1/chat/completions": complete, "/v1/embeddings": create_embeddings}
VALIDATING, FINALIZING, CANCELLING = 2.0, 1.0, 1.0  # virtual seconds
PER_REQUEST, MAX_RUN = 0.02, 20.0


@dataclass
class Batch:
    id: str
    created: float
    endpoint: str
    input_file_id: str
    metadata: dict[str, str] | None
    speed: float
    outputs: list[dict[str, Any]] = field(default_factory=list)  # one per request, in order
    problems: list[dict[str, Any]] = field(default_factory=list)  # validation errors
    model: str | None = None
    cancelled_at: float | None = None
    cancel_ends: float = math.inf
    settled: bool = False
    output_file_id: str | None = None
    error_file_id: str | None = None

    def at(self, v: float) -> float:
        return self.created + v / self.speed

    @property
    def run(self) -> float:
        return min(MAX_RUN, 1.0 + PER_REQUEST * len(self.outputs))

    def status(self, when: float) -> str:
        if self.cancelled_at is not None:
            return "cancelling" if when < self.cancel_ends else "cancelled"
        v = (when - self.created) * self.speed
        if v < VALIDATING:
            return "validating"
        if self.problems:
            return "failed"
        if v < VALIDATING + self.run:
            return "in_progress"
        return "finalizing" if v < VALIDATING + self.run + FINALIZING else "completed"

    def ends_at(self) -> float:
        if self.cancelled_at is not None:
            return self.cancel_ends
        return self.at(VALIDATING if self.problems else VALIDATING + self.run + FINALIZING)

    def done(self, when: float) -> list[dict[str, Any]]:
        """The outputs produced by `when` (all of them once finalizing)."""
        until = min(when, self.cancelled_at or when)
        share = ((until - self.created) * self.speed - VALIDATING) / self.run
        return self.outputs[:max(0, min(len(self.outputs), math.floor(share * len(self.outputs))))]


@router.post("")
async def create(request: Request) -> dict[str, Any]:
    state, body = of(request), await read_json(request)
    file_id = required_str(body, "input_file_id")
    record = state.files.get(file_id)
    if record is None or record.purpose != "batch":
        raise invalid(f"Invalid 'input_file_id': {file_id} is not a file with purpose 'batch'.",
                      "input_file_id", "invalid_file")
    endpoint = required_str(body, "endpoint")
    if endpoint not in ENDPOINTS:
        raise invalid(f"Invalid 'endpoint': {endpoint!r}; the emulator supports "
                      f"{sorted(ENDPOINTS)}.", "endpoint", "invalid_value")
    if body.get("completion_window") != "24h":
        raise invalid("Invalid 'completion_window': expected '24h'.", "completion_window",
                      "invalid_value")
    batch = Batch(new_id("batch_", 32), now(), endpoint, file_id,
                  check_metadata(body.get("metadata")), state.speed)
    run_requests(state, batch, record.content)
    state.batches[batch.id] = batch
    state.schedule(batch.ends_at() + 1e-6, "batch", batch.id)
    return view(state, batch, now())


@router.get("")
async def list_batches(request: Request) -> dict[str, Any]:
    state, at = of(request), now()
    chosen, more = page(list(reversed(state.batches)), request.query_params.get("after"),
                        limit(request))
    return list_body([view(state, state.batches[i], at) for i in chosen], more)


@router.get("/{batch_id}")
async def retrieve(batch_id: str, request: Request) -> dict[str, Any]:
    state = of(request)
    return view(state, find(state, batch_id), now())


@router.post("/{batch_id}/cancel")
async def cancel(batch_id: str, request: Request) -> dict[str, Any]:
    state, at = of(request), now()
    batch = find(state, batch_id)
    current = batch.status(at)
    if current not in ("validating", "in_progress", "finalizing"):
        raise invalid(f"Cannot cancel a batch with status '{current}'.", "batch_id",
                      "invalid_batch_state")
    batch.cancelled_at = at
    batch.cancel_ends = at + CANCELLING / state.speed  # the speed now, not at creation
    state.schedule(batch.ends_at() + 1e-6, "batch", batch.id)
    return view(state, batch, at)


def find(state: State, batch_id: str) -> Batch:
    if batch_id not in state.batches:
        raise not_found(f"No batch found with id '{batch_id}'.", "batch_id", "batch_not_found")
    return state.batches[batch_id]


def run_requests(state: State, batch: Batch, content: bytes) -> None:
    """Answer every request now; malformed lines fail the whole batch, like OpenAI."""
    seen: set[str] = set()
    for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        problem = line_problem(row, batch.endpoint, seen)
        if problem:
            batch.problems.append({"code": problem[0], "message": problem[1], "param": None,
                                   "line": number})
            continue
        seen.add(row["custom_id"])
        batch.model = batch.model or row["body"].get("model")
        batch.outputs.append(answer(state, batch.endpoint, row))
    if not batch.outputs and not batch.problems:
        batch.problems.append({"code": "empty_file", "message": "The input file is empty.",
                               "param": None, "line": None})


def line_problem(row: object, endpoint: str, seen: set[str]) -> tuple[str, str] | None:
    if not isinstance(row, dict):
        return "invalid_json_line", "This line is not parseable as valid JSON."
    for key in ("custom_id", "method", "url", "body"):
        if key not in row:
            return "missing_required_parameter", f"Missing required parameter: '{key}'."
    if row["url"] != endpoint:
        return "mismatched_endpoint", (f"The url {row['url']!r} does not match the batch's "
                                       f"endpoint {endpoint!r}.")
    if row["custom_id"] in seen:
        return "duplicate_custom_id", f"The custom_id {row['custom_id']!r} is used twice."
    if row["method"] != "POST" or not isinstance(row["body"], dict):
        return "invalid_request", "Each request must be a POST with an object 'body'."
    return None


def answer(state: State, endpoint: str, row: dict[str, Any]) -> dict[str, Any]:
    try:
        status, body = 200, ENDPOINTS[endpoint](state, row["body"])
    except APIError as exc:
        status, body = exc.status, exc.body()
    return {"id": new_id("batch_req_", 32), "custom_id": row["custom_id"],
            "response": {"status_code": status, "request_id": new_id("req_", 32), "body": body},
            "error": None}


def view(state: State, batch: Batch, at: float) -> dict[str, Any]:
    settle(state, batch, at)
    return render(batch, at)


def settle(state: State, batch: Batch, at: float) -> bool:
    """Once the batch has ended: its output and error files and its webhook, once."""
    current = batch.status(at)
    if batch.settled or current not in ("completed", "failed", "cancelled"):
        return batch.settled
    batch.settled = True
    finished = batch.done(at)
    good = [o for o in finished if o["response"]["status_code"] == 200]
    bad = [o for o in finished if o["response"]["status_code"] != 200]
    for output in good:
        state.batch_requests[output["response"]["body"]["model"]] += 1
    if good:
        batch.output_file_id = add_jsonl(state, f"batch_{batch.id}_output.jsonl", good)
    if bad:
        batch.error_file_id = add_jsonl(state, f"batch_{batch.id}_error.jsonl", bad)
    webhooks.notify(state, f"batch.{current}", batch.id, int(batch.ends_at()))
    return True


def add_jsonl(state: State, name: str, rows: list[dict[str, Any]]) -> str:
    content = "".join(json.dumps(row) + "\n" for row in rows).encode()
    return state.add_file(name, "batch_output", content).id


def render(batch: Batch, at: float) -> dict[str, Any]:
    current = batch.status(at)
    reached = {s: int(batch.at(v)) if at >= batch.at(v) and not batch.problems else None
               for s, v in (("in_progress_at", VALIDATING),
                            ("finalizing_at", VALIDATING + batch.run),
                            ("completed_at", VALIDATING + batch.run + FINALIZING))}
    if batch.cancelled_at is not None:
        reached = {k: v if v is not None and v <= batch.cancelled_at else None
                   for k, v in reached.items()}
    finished = batch.done(at) if current != "validating" and not batch.problems else []
    ok = sum(1 for o in finished if o["response"]["status_code"] == 200)
    total = 0 if current == "validating" or batch.problems else len(batch.outputs)
    usage = [o["response"]["body"].get("usage") or {} for o in finished
             if o["response"]["status_code"] == 200]
    prompt = sum(u.get("prompt_tokens", 0) for u in usage)
    produced = sum(u.get("completion_tokens", 0) for u in usage)
    return {
        "id": batch.id, "object": "batch", "endpoint": batch.endpoint, "model": batch.model,
        "errors": {"object": "list", "data": batch.problems} if batch.problems else None,
        "input_file_id": batch.input_file_id, "completion_window": "24h", "status": current,
        "output_file_id": batch.output_file_id, "error_file_id": batch.error_file_id,
        "created_at": int(batch.created), "expires_at": int(batch.created) + 86400,
        **reached, "expired_at": None,
        "failed_at": int(batch.at(VALIDATING)) if current == "failed" else None,
        "cancelling_at": int(batch.cancelled_at) if batch.cancelled_at else None,
        "cancelled_at": int(batch.ends_at()) if current == "cancelled" else None,
        "request_counts": {"total": total, "completed": ok, "failed": len(finished) - ok},
        "metadata": batch.metadata,
        "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": produced, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": prompt + produced}}

