"""The worker's /metrics: RQ runs each task in a fork that exits after it, so each fork leaves
what its counters and histograms gained in a file of the worker's own directory; an exporter
process beside the worker adds those up and serves them."""

import json
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
from prometheus_client.metrics_core import Metric
from rq import Worker
from rq.job import Job
from rq.queue import Queue

import service.metrics  # noqa: F401 - registers the families the exporter serves
from service import logs, tracing
from service.logs import log

Key = tuple[str, tuple[tuple[str, str], ...]]
SUFFIXES = ("_total", "_bucket", "_count", "_sum")
FOLD_SECONDS = 5.0


def snapshot() -> dict[Key, float]:
    """This process's ftm_ counter and histogram samples."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in REGISTRY.collect()
            if family.name.startswith("ftm_") and family.type in ("counter", "histogram")
            for sample in family.samples if sample.name.endswith(SUFFIXES)}


def write_gains(directory: Path, before: dict[Key, float]) -> None:
    gains = [[name, dict(labels), value - before.get((name, labels), 0.0)]
             for (name, labels), value in snapshot().items()
             if value != before.get((name, labels), 0.0)]
    if gains:
        temporary = directory / f".{uuid.uuid4().hex}.tmp"
        temporary.write_text(json.dumps(gains))
        temporary.rename(directory / f"{uuid.uuid4().hex}.json")


class MeteredWorker(Worker):
    """An RQ worker whose forks leave their metrics' gains in metrics_dir and export their spans."""

    metrics_dir: Path | None = None

    def perform_job(self, job: Job, queue: Queue) -> bool:  # runs in the fork
        before = snapshot() if self.metrics_dir is not None else {}
        try:
            return super().perform_job(job, queue)
        finally:
            tracing.flush()
            if self.metrics_dir is not None:
                write_gains(self.metrics_dir, before)


class Gains:
    """A collector: the families service.metrics defines, valued by every fork's gains added up."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.lock = directory, threading.Lock()
        self.totals: dict[Key, float] = defaultdict(float)

    def fold(self) -> dict[Key, float]:
        """Add up the files the forks left (and remove them); the totals so far."""
        with self.lock:
            for path in sorted(self.directory.glob("*.json")):
                for name, labels, value in json.loads(path.read_text()):
                    self.totals[(name, tuple(sorted(labels.items())))] += value
                path.unlink()
            return dict(self.totals)

    def fold_every(self, seconds: float) -> None:
        """Keep the directory small between scrapes (a fork leaves a file per task)."""
        while True:
            time.sleep(seconds)
            self.fold()

    def collect(self) -> Iterator[Metric]:
        totals = self.fold()
        for family in REGISTRY.collect():
            if family.name.startswith("ftm_") and family.type in ("counter", "histogram"):
                yield with_totals(family, totals)


def with_totals(family: Metric, totals: dict[Key, float]) -> Metric:
    names = {family.name + suffix for suffix in SUFFIXES}
    # The family's own samples only give the series that exist before any gain: at zero.
    values = {(s.name, tuple(sorted(s.labels.items()))): 0.0 for s in family.samples
              if s.name in names}
    for key, value in totals.items():
        if key[0] in names:
            values[key] = values.get(key, 0.0) + value
    merged = Metric(family.name, family.documentation, family.type)
    for name, labels in sorted(values, key=exposition_order):
        merged.add_sample(name, dict(labels), values[(name, labels)])
    return merged


def exposition_order(key: Key) -> tuple[Any, ...]:
    name, labels = key
    le = dict(labels).get("le")
    series = tuple(item for item in labels if item[0] != "le")
    return series, name, float(le) if le is not None else 0.0


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:  # the scrapes are not worth a log line
        pass


def serve(directory: str, host: str, port: int, token: str | None, log_level: str) -> None:
    """The exporter process."""
    logs.configure(log_level)
    try:
        server = exporter(Path(directory), host, port, token)
    except OSError as exc:
        log.error("worker.metrics.unavailable", host=host, port=port, error=str(exc))
        return
    log.info("worker.metrics.serving", host=host, port=server.server_port)
    server.serve_forever()


def exporter(directory: Path, host: str, port: int, token: str | None) -> WSGIServer:
    """/metrics on host:port, behind a bearer token if one is set."""
    gains = Gains(directory)
    threading.Thread(target=gains.fold_every, args=(FOLD_SECONDS,), daemon=True).start()
    registry = CollectorRegistry(auto_describe=True)
    registry.register(gains)
    app = make_wsgi_app(registry)

    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        if token and environ.get("HTTP_AUTHORIZATION") != f"Bearer {token}":
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
            return [b"a bearer token is required\n"]
        return app(environ, start_response)

    return make_server(host, port, guarded, WSGIServer, handler_class=Quiet)


def prepare_dir(base: str | None = None) -> Path:
    """A directory of this worker's own for its forks' gains."""
    path = Path(base or os.environ.get("TMPDIR", "/tmp")) / f"ftm-worker-metrics-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.json"):
        stale.unlink()
    return path
