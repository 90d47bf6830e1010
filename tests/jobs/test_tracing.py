"""With tracing on, a job launch is one trace: the API request, the task it queued (run here by
an in-process RQ worker) and the provider calls that task made, over HTTP to the emulator."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from service import tracing
from service.api.app import create_app
from tests.factories import chat_dataset, run_tasks
from tests.support.api import new_project_key


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)


@pytest.fixture
def traced_client(settings, spans) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def parent_chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


def test_a_job_launch_is_one_trace_from_request_to_provider(traced_client, ctx, spans):
    _, auth = new_project_key(traced_client)
    dataset = chat_dataset(traced_client, ctx, auth, 20)
    spans.clear()
    response = traced_client.post("/v1/jobs", headers=auth, json={
        "model": "gpt-4o-mini-2024-07-18", "training_dataset": dataset})
    assert response.status_code == 202, response.text
    queued = ctx.queue.get_jobs()
    assert [job.func_name for job in queued] == ["worker.tasks.launch_job"]
    assert "traceparent" in queued[0].meta["trace"]
    run_tasks(ctx)

    finished = spans.get_finished_spans()
    request = next(s for s in finished
                   if s.kind == SpanKind.SERVER and s.name == "POST /v1/jobs")
    task = next(s for s in finished if s.name == "task launch_job")
    calls = [s for s in finished if s.kind == SpanKind.CLIENT and s.name.startswith("openai ")]
    assert task.kind == SpanKind.CONSUMER
    assert {"openai files.create", "openai fine_tuning.jobs.create"} <= {s.name for s in calls}
    trace_id = request.context.trace_id
    assert {s.context.trace_id for s in [task, *calls]} == {trace_id}
    by_id = {s.context.span_id: s for s in finished}
    create = next(s for s in calls if s.name == "openai fine_tuning.jobs.create")
    assert parent_chain(create, by_id)[0] == "task launch_job"
    assert "POST /v1/jobs" in parent_chain(task, by_id)
    assert create.attributes["ftm.provider.route"] == "fine_tuning.jobs.create"


def test_tracing_is_off_by_default(client, ctx, auth, monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    tracing.configure("test")
    assert tracing.carrier() == {}
    dataset = chat_dataset(client, ctx, auth, 20)
    created = client.post("/v1/jobs", headers=auth, json={
        "model": "gpt-4o-mini-2024-07-18", "training_dataset": dataset})
    assert created.status_code == 202, created.text
    [launch] = ctx.queue.get_jobs()
    assert "trace" not in launch.meta
