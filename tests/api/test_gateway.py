"""The provider gateway against the emulator: retries, giving up, the shared rate cap."""

import subprocess
import sys

import pytest

from service.errors import ProviderRejected, ProviderUnavailable, ServiceError
from service.provider.gateway import Gateway
from tests.support.emulator import admin, requests_log
from tests.support.env import EMULATOR_KEY, ROOT, make_settings


@pytest.fixture
def gateway(emulator, redis_url, tmp_path, redis_client):
    settings = make_settings(redis_url, tmp_path, openai_base_url=emulator,
                             openai_api_key=EMULATOR_KEY, openai_max_retries=3,
                             openai_retry_base_seconds=0.01)
    return Gateway(settings, redis_client)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_transient_errors_then_succeeds(gateway, emulator, status):
    admin(emulator, "faults", {"fail_next": {"count": 2, "status": status, "path": "/v1/models"}})
    models = gateway.call(gateway.client.models.list)
    assert len(models.data) > 0
    statuses = [r["status"] for r in requests_log(emulator, path="/v1/models")]
    assert statuses == [status, status, 200]


def test_gives_up_after_its_budget_with_provider_unavailable(gateway, emulator):
    admin(emulator, "faults", {"fail_next": {"count": 10, "status": 500, "path": "/v1/models"}})
    with pytest.raises(ProviderUnavailable) as raised:
        gateway.call(gateway.client.models.list)
    assert raised.value.status == 503
    assert raised.value.code == "provider_unavailable"
    assert len(requests_log(emulator, path="/v1/models")) == 4  # 1 + openai_max_retries


def test_client_errors_are_not_retried(gateway, emulator):
    with pytest.raises(ProviderRejected) as raised:
        gateway.call(gateway.client.files.retrieve, "file-missing")
    assert raised.value.provider_status == 404
    assert len(requests_log(emulator, path="/v1/files/file-missing")) == 1


def test_provider_key_never_in_the_error(emulator, redis_url, tmp_path, redis_client):
    key = "sk-secret-do-not-show-1234"
    settings = make_settings(redis_url, tmp_path, openai_base_url=emulator, openai_api_key=key,
                             openai_max_retries=0)
    gateway = Gateway(settings, redis_client)
    admin(emulator, "faults", {"fail_next": {"count": 1, "status": 401, "path": "/v1/models"}})
    with pytest.raises(ServiceError) as raised:
        gateway.call(gateway.client.models.list)
    assert raised.value.code == "provider_auth_failed"
    assert key not in raised.value.detail
    assert key not in repr(raised.value.__dict__)


BURST = """
import sys, time
from service.provider.gateway import Gateway
from tests.support.env import make_settings
from pathlib import Path
import redis
settings = make_settings(sys.argv[1], Path("/tmp"), openai_base_url=sys.argv[2],
                         openai_api_key="sk-emulator-test-0123456789",
                         openai_requests_per_minute=600)
gateway = Gateway(settings, redis.Redis.from_url(sys.argv[1]))
for _ in range(int(sys.argv[3])):
    gateway.call(gateway.client.models.list)
"""


def test_rate_cap_holds_across_two_processes(emulator, redis_url, redis_client):
    per_process = 15
    procs = [subprocess.Popen([sys.executable, "-c", BURST, redis_url, emulator, str(per_process)],
                              cwd=ROOT) for _ in range(2)]
    for proc in procs:
        assert proc.wait(60) == 0
    times = sorted(r["timestamp"] for r in requests_log(emulator, path="/v1/models"))
    assert len(times) == 2 * per_process
    # 600/min = 10/s with a bucket of 10: at most 10 + 10 × t requests in any window of t s.
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            window = times[j] - start
            assert j - i + 1 <= 10 + 10 * window + 1, (i, j, window)
    assert times[-1] - times[0] >= 1.5
