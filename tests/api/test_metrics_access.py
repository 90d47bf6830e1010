"""With FTM_METRICS_TOKEN set, /metrics and /metrics/cluster ask for it as a bearer token."""

import pytest

from tests.support.api import problem

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"metrics_token": TOKEN}


@pytest.mark.parametrize("path", ["/metrics", "/metrics/cluster"])
def test_metrics_need_the_token(client, path):
    missing = client.get(path)
    problem(missing, 401, "unauthorized")
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    answered = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answered.status_code == 200
    assert "# TYPE" in answered.text


def test_request_latency_has_conventional_name(client):
    client.get("/healthz")
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert 'ftm_http_request_duration_seconds_count{method="GET",route="/healthz"}' in text
    assert "ftm_http_request_seconds" not in text
