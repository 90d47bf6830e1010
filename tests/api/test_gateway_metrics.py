"""The gateway counts each provider attempt by route and outcome, its retries, and its waits for
the shared request cap, against the emulator."""

import httpx
import pytest
from prometheus_client import REGISTRY

from service.errors import ProviderRejected
from service.provider.openai import OpenAIProvider
from tests.support.env import EMULATOR_KEY, make_settings


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def provider_for(emulator, redis_url, tmp_path, redis_client, **overrides) -> OpenAIProvider:
    settings = make_settings(redis_url, tmp_path, openai_base_url=emulator,
                             openai_api_key=EMULATOR_KEY, openai_retry_base_seconds=0.01,
                             **overrides)
    return OpenAIProvider(settings, redis_client)


@pytest.fixture
def provider(emulator, redis_url, tmp_path, redis_client) -> OpenAIProvider:
    return provider_for(emulator, redis_url, tmp_path, redis_client, openai_max_retries=3)


def test_attempts_are_counted_by_route_and_outcome(provider, emulator):
    before = {outcome: value("ftm_provider_requests_total", route="models.list", outcome=outcome)
              for outcome in ("ok", "rate_limited")}
    retries = value("ftm_provider_retries_total", route="models.list")
    httpx.post(emulator.removesuffix("/v1") + "/__emulator/faults", json={
        "fail_next": {"count": 2, "status": 429, "path": "/v1/models"}}).raise_for_status()
    provider.gateway.call(provider.client.models.list)
    assert value("ftm_provider_requests_total", route="models.list",
                 outcome="rate_limited") == before["rate_limited"] + 2
    assert value("ftm_provider_requests_total", route="models.list",
                 outcome="ok") == before["ok"] + 1
    assert value("ftm_provider_retries_total", route="models.list") == retries + 2


def test_a_rejected_request_is_counted_with_its_sdk_route(provider):
    before = value("ftm_provider_requests_total", route="files.retrieve", outcome="rejected")
    with pytest.raises(ProviderRejected):
        provider.retrieve_file("file-missing")
    assert value("ftm_provider_requests_total", route="files.retrieve",
                 outcome="rejected") == before + 1
    assert value("ftm_provider_request_duration_seconds_count", route="files.retrieve") > 0


def test_waits_for_the_request_cap_are_counted(emulator, redis_url, tmp_path, redis_client):
    provider = provider_for(emulator, redis_url, tmp_path, redis_client,
                            openai_requests_per_minute=120)  # two at once, then two a second
    waits = value("ftm_provider_rate_limit_waits_total")
    for _ in range(3):
        provider.gateway.call(provider.client.models.list)
    assert value("ftm_provider_rate_limit_waits_total") > waits
    assert value("ftm_provider_rate_limit_wait_seconds_total") > 0
