"""A small client of the finetune-manager API: one method per operation the CLI uses.

Every request goes through `Client.call` with the name of a route in `ROUTES`, which fixes its
method, path, query parameters, headers and body fields; a test checks that table against
`openapi/openapi.json`, and `call` refuses anything the table does not declare. Answers are the
API's JSON documents as plain dicts; an error answer raises `ApiError` with its `code`.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx
import orjson

from service import __version__

DEFAULT_URL = "http://127.0.0.1:8000"
TERMINAL_JOB = ("succeeded", "failed", "cancelled")
TERMINAL_EVALUATION = ("succeeded", "failed", "cancelled")
JOB_FIELDS = ("model", "training_dataset", "validation_dataset", "method", "suffix", "seed",
              "metadata", "hyperparameters", "webhook_url", "max_cost_usd",
              "dry_run")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    body: tuple[str, ...] = ()  # JSON fields
    form: tuple[str, ...] = ()  # multipart/form-data fields


ROUTES: dict[str, Route] = {
    "upload_dataset": Route("POST", "/v1/datasets", headers=("Idempotency-Key",),
                            form=("file", "name", "format")),
    "get_dataset": Route("GET", "/v1/datasets/{dataset_id}"),
    "convert_dataset": Route("POST", "/v1/datasets/{dataset_id}/convert", body=(
        "name", "target", "system", "user", "assistant", "prompt", "completion", "separator",
        "stop", "value_maps", "on_empty")),
    "report_dataset": Route("GET", "/v1/datasets/{dataset_id}/report", query=("model",)),
    "split_dataset": Route("POST", "/v1/datasets/{dataset_id}/split",
                           body=("strategy", "fractions", "seed", "label")),
    "create_job": Route("POST", "/v1/jobs", headers=("Idempotency-Key",), body=JOB_FIELDS),
    "get_job": Route("GET", "/v1/jobs/{job_id}"),
    "cancel_job": Route("POST", "/v1/jobs/{job_id}/cancel"),
    "pause_job": Route("POST", "/v1/jobs/{job_id}/pause"),
    "resume_job": Route("POST", "/v1/jobs/{job_id}/resume"),
    "stream_job_events": Route("GET", "/v1/jobs/{job_id}/events/stream", query=("after",)),
    "create_evaluation": Route("POST", "/v1/evaluations", body=(
        "dataset", "models", "job", "max_examples", "temperature", "max_tokens", "concurrency",
        "mode")),
    "get_evaluation": Route("GET", "/v1/evaluations/{evaluation_id}"),
    "delete_model": Route("DELETE", "/v1/models/{model}"),
    "chat": Route("POST", "/v1/chat/completions",
                  body=("model", "messages", "temperature", "max_tokens", "stream")),
}


class ApiError(Exception):
    """An error answer (problem+json, or OpenAI's error shape), or no answer at all."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.status, self.code, self.detail = status, code, detail


@dataclass
class Client:
    base_url: str = DEFAULT_URL
    api_key: str | None = None
    timeout: float = 60
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        headers = {"User-Agent": f"ftm/{__version__}"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        self.http = httpx.Client(base_url=self.base_url.rstrip("/"), headers=headers,
                                 timeout=self.timeout)

    def close(self) -> None:
        self.http.close()

    def build(self, route: str, path: dict[str, str] | None = None,
              query: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
              json: dict[str, Any] | None = None, files: dict[str, Any] | None = None,
              data: dict[str, str] | None = None) -> httpx.Request:
        spec = ROUTES[route]
        query = {k: v for k, v in (query or {}).items() if v is not None}
        headers = {k: v for k, v in (headers or {}).items() if v is not None}
        json = {k: v for k, v in json.items() if v is not None} if json is not None else None
        undeclared = ((set(query) - set(spec.query)) | (set(headers) - set(spec.headers))
                      | (set(json or {}) - set(spec.body))
                      | ((set(files or {}) | set(data or {})) - set(spec.form)))
        if undeclared:
            raise ValueError(f"{route} does not take {sorted(undeclared)}")
        url = spec.path.format(**{k: quote(v, safe=":@") for k, v in (path or {}).items()})
        return self.http.build_request(spec.method, url, params=query, headers=headers,
                                       json=json, files=files, data=data)

    def call(self, route: str, **parts: Any) -> Any:
        answer = self.send(self.build(route, **parts))
        return answer.json() if answer.content else None

    def send(self, request: httpx.Request, stream: bool = False) -> httpx.Response:
        try:
            answer = self.http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise ApiError(0, "connection_failed",
                           f"no answer from {self.base_url}: {exc}") from None
        if answer.is_error:
            answer.read()
            raise error_of(answer)
        return answer

    # datasets
    def upload_dataset(self, file: IO[bytes], filename: str, name: str | None = None,
                       format: str = "auto", idempotency_key: str | None = None) -> Any:
        data = {"format": format, **({"name": name} if name else {})}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        request = self.build("upload_dataset", headers=headers,
                             files={"file": (filename, file)}, data=data)
        return self.send(request).json()

    def get_dataset(self, dataset_id: str) -> Any:
        return self.call("get_dataset", path={"dataset_id": dataset_id})

    def wait_dataset(self, dataset_id: str, timeout: float = 600) -> Any:
        """Poll until the dataset leaves `processing`."""
        return self.poll(lambda: self.get_dataset(dataset_id),
                         lambda d: d["status"] != "processing", timeout)

    def convert_dataset(self, dataset_id: str, body: dict[str, Any]) -> Any:
        return self.call("convert_dataset", path={"dataset_id": dataset_id}, json=body)

    def report_dataset(self, dataset_id: str, model: str | None = None) -> Any:
        return self.call("report_dataset", path={"dataset_id": dataset_id},
                         query={"model": model})

    def split_dataset(self, dataset_id: str, body: dict[str, Any]) -> Any:
        return self.call("split_dataset", path={"dataset_id": dataset_id}, json=body)

    # jobs
    def create_job(self, body: dict[str, Any], idempotency_key: str | None = None) -> Any:
        return self.call("create_job", json=body, headers={"Idempotency-Key": idempotency_key})

    def get_job(self, job_id: str) -> Any:
        return self.call("get_job", path={"job_id": job_id})

    def control_job(self, job_id: str, action: str) -> Any:
        return self.call(f"{action}_job", path={"job_id": job_id})

    def job_events(self, job_id: str, after: str | None = None) -> Iterator[tuple[str, Any]]:
        """The job's events as (type, event) until `end`; reconnects after a dropped stream."""
        while True:
            request = self.build("stream_job_events", path={"job_id": job_id},
                                 query={"after": after})
            request.extensions["timeout"] = httpx.Timeout(self.timeout, read=None).as_dict()
            answer = self.send(request, stream=True)
            try:
                for kind, event_id, data in sse_events(answer.iter_lines()):
                    after = event_id or after
                    yield kind, data
                    if kind == "end":
                        return
            except httpx.HTTPError:
                pass  # the stream dropped: resume after the last event seen
            finally:
                answer.close()
            time.sleep(1)

    # evaluations, models, chat
    def create_evaluation(self, body: dict[str, Any]) -> Any:
        return self.call("create_evaluation", json=body)

    def get_evaluation(self, evaluation_id: str) -> Any:
        return self.call("get_evaluation", path={"evaluation_id": evaluation_id})

    def wait_evaluation(self, evaluation_id: str, timeout: float = 3600) -> Any:
        return self.poll(lambda: self.get_evaluation(evaluation_id),
                         lambda e: e["status"] in TERMINAL_EVALUATION, timeout)

    def delete_model(self, model: str) -> Any:
        return self.call("delete_model", path={"model": model})

    def chat(self, body: dict[str, Any]) -> Any:
        return self.call("chat", json={**body, "stream": False})

    def chat_stream(self, body: dict[str, Any]) -> Iterator[str]:
        """The completion's text as it comes."""
        answer = self.send(self.build("chat", json={**body, "stream": True}), stream=True)
        try:
            for _, _, data in sse_events(answer.iter_lines()):
                if data == "[DONE]":
                    return
                for choice in data.get("choices", []):
                    if text := (choice.get("delta") or {}).get("content"):
                        yield text
        finally:
            answer.close()

    @staticmethod
    def poll(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while not done(current := read()):
            if time.monotonic() > deadline:
                raise ApiError(0, "timeout", f"still {current.get('status')} after {timeout} s")
            time.sleep(1)
        return current


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str | None, Any]]:
    """(event, id, data) of a text/event-stream; data parsed as JSON when it is."""
    data: list[str]
    kind, event_id, data = "message", None, []
    for line in lines:
        if not line:
            if data:
                text = "\n".join(data)
                try:
                    parsed: Any = orjson.loads(text)
                except orjson.JSONDecodeError:
                    parsed = text
                yield kind, event_id, parsed
            kind, event_id, data = "message", None, []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                kind = value
            elif name == "id":
                event_id = value
            elif name == "data":
                data.append(value)


def error_of(answer: httpx.Response) -> ApiError:
    """problem+json (`code`, `detail`) or OpenAI's `{"error": {code, message}}`."""
    try:
        body = answer.json()
    except ValueError:
        return ApiError(answer.status_code, f"http_{answer.status_code}", answer.text[:500])
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return ApiError(answer.status_code, str(error.get("code") or error.get("type")),
                        str(error.get("message")))
    if isinstance(body, dict) and "code" in body:
        return ApiError(answer.status_code, str(body["code"]),
                        str(body.get("detail") or body.get("title")))
    return ApiError(answer.status_code, f"http_{answer.status_code}", answer.text[:500])


def read_key_file(data_dir: Path) -> str | None:
    """The key `make run` keeps in the data directory, if there is one."""
    path = data_dir / ".default_key"
    return path.read_text().strip() if path.is_file() else None
