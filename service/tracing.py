"""Optional OpenTelemetry traces (the `otel` extra): API requests, the tasks they queue and the
provider calls those make, as one trace.

Off unless OTEL_TRACES_EXPORTER names an exporter (otlp, console) and OTEL_SDK_DISABLED is not
true; the other standard OTEL_* variables (endpoint, headers, service name, sampler) apply as the
SDK reads them. Without the extra, or when off, every function here does nothing.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from service.logs import log

_provider: Any = None  # the SDK's TracerProvider while tracing is on
NOT_TRACED = "healthz,readyz,metrics"


def wanted() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower() not in ("", "none")


def configure(service_name: str) -> None:
    """Turn tracing on for this process if the environment asks for it."""
    if _provider is not None or not wanted():
        return
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("tracing.unavailable", detail="OTEL_TRACES_EXPORTER is set but the otel "
                    "extra is not installed")
        return
    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
    provider = TracerProvider(resource=Resource.create(named))
    for name in os.environ["OTEL_TRACES_EXPORTER"].split(","):
        exporter = build_exporter(name.strip().lower())
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    use(provider)


def build_exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter
        return ConsoleSpanExporter(  # one line a span, like every other line the service writes
            formatter=lambda span: span.to_json(indent=None) + "\n")
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter()
    log.warning("tracing.unknown_exporter", exporter=name, known="otlp, console")
    return None


def use(provider: Any) -> None:
    """Trace with this TracerProvider (None: stop tracing)."""
    global _provider
    _provider = provider


def flush() -> None:
    """Export what this process has ended: a task's fork exits without running exit hooks."""
    if _provider is not None:
        _provider.force_flush(5000)


def instrument_app(app: Any) -> None:
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls=NOT_TRACED,
                                       exclude_spans=["receive", "send"])  # a span per chunk


def carrier() -> dict[str, str]:
    """The current trace context, to travel with a queued task."""
    if _provider is None:
        return {}
    from opentelemetry.propagate import inject
    headers: dict[str, str] = {}
    inject(headers)
    return headers


@contextmanager
def span(name: str, kind: str, attributes: Mapping[str, str],
         parent: Mapping[str, str] | None = None) -> Iterator[None]:
    """A span of kind (client, consumer...) under the current one, or under parent's context."""
    if _provider is None:
        yield
        return
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind
    context = extract(parent) if parent else None
    tracer = _provider.get_tracer("finetune-manager")
    with tracer.start_as_current_span(name, context=context, kind=SpanKind[kind.upper()],
                                      attributes=dict(attributes)):
        yield


def client_span(name: str, attributes: Mapping[str, str]) -> Any:
    return span(name, "client", attributes)
