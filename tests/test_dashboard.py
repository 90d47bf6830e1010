"""The Grafana dashboard in deploy/ charts series the service exports, and every worker series."""

import json
import re

from prometheus_client import REGISTRY

# Every API series, registered as the app imports them (importing the playground's usage
# module first would flip a cached union in the jobs schema: see test_project).
import service.api.app  # noqa: F401
from service import metrics
from service.operations import CLUSTER
from tests.support.env import ROOT

SERIES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported() -> set[str]:
    return {family.name + suffix for registry in (REGISTRY, CLUSTER)
            for family in registry.collect() for suffix in SERIES.get(family.type, ())}


def test_dashboard_charts_exported_series():
    dashboard = json.loads((ROOT / "deploy/grafana/finetune-manager.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    charted = {name for expr in exprs for name in re.findall(r"\bftm_\w+", expr)}
    assert charted - exported() == set()
    worker = {value._name for value in vars(metrics).values() if hasattr(value, "_name")}
    bases = {re.sub(r"(_total|_bucket|_count|_sum)$", "", name) for name in charted}
    assert worker - bases == set(), "worker series missing from the dashboard"
