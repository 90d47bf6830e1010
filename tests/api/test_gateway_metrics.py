"""The gateway counts each provider attempt by route and outcome, its retries, and its waits for
the shared request cap, against the emulator."""

import pytest
from prometheus_client import REGISTRY

from service.errors import ProviderRejected
from service.provider.gateway import Gateway
from tests.support.emulator import admin
from tests.support.env import EMULATOR_KEY, make_settings


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def gateway_for(emulator, redis_url, tmp_path, redis_client, **overrides) -> Gateway:
    settings = make_settings(redis_url, tmp_path, openai_base_url=emulator,
                             openai_api_key=EMULATOR_KEY, openai_retry_base_seconds=0.01,
                             **overrides)
    return Gateway(settings, redis_client)


@pytest.fixture
def gateway(emulator, redis_url, tmp_path, redis_client) -> Gateway:
    return gateway_for(emulator, redis_url, tmp_path, redis_client, openai_max_retries=3)


def test_attempts_are_counted_by_route_and_outcome(gateway, emulator):
    before = {outcome: value("ftm_provider_requests_total", route="models.list", outcome=outcome)
              for outcome in ("ok", "rate_limited")}
    retries = value("ftm_provider_retries_total", route="models.list")
    admin(emulator, "faults", {
        "fail_next": {"count": 2, "status": 429, "path": "/v1/models"}})
    gateway.call(gateway.client.models.list)
    assert value("ftm_provider_requests_total", route="models.list",
                 outcome="rate_limited") == before["rate_limited"] + 2
    assert value("ftm_provider_requests_total", route="models.list",
                 outcome="ok") == before["ok"] + 1
    assert value("ftm_provider_retries_total", route="models.list") == retries + 2


def test_a_rejected_request_is_counted_with_its_sdk_route(gateway):
    before = value("ftm_provider_requests_total", route="files.retrieve", outcome="rejected")
    with pytest.raises(ProviderRejected):
        gateway.call(gateway.client.files.retrieve, "file-missing")
    assert value("ftm_provider_requests_total", route="files.retrieve",
                 outcome="rejected") == before + 1
    assert value("ftm_provider_request_duration_seconds_count", route="files.retrieve") > 0


def test_waits_for_the_request_cap_are_counted(emulator, redis_url, tmp_path, redis_client):
    gateway = gateway_for(emulator, redis_url, tmp_path, redis_client,
                          openai_requests_per_minute=120)  # two at once, then two a second
    waits = value("ftm_provider_rate_limit_waits_total")
    for _ in range(3):
        gateway.call(gateway.client.models.list)
    assert value("ftm_provider_rate_limit_waits_total") > waits
    assert value("ftm_provider_rate_limit_wait_seconds_total") > 0
