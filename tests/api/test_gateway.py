"""The provider's gateway policy against the emulator: retries, giving up, the shared rate cap."""

import io
import subprocess
import sys
from itertools import islice

import pytest
from prometheus_client import REGISTRY

from service.errors import ProviderRejected, ProviderUnavailable, ServiceError
from service.provider.openai import OpenAIProvider
from tests.support.emulator import admin, requests_log
from tests.support.env import EMULATOR_KEY, ROOT, make_settings


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def provider(emulator, redis_url, tmp_path, redis_client):
    settings = make_settings(redis_url, tmp_path, openai_base_url=emulator,
                             openai_api_key=EMULATOR_KEY, openai_max_retries=3,
                             openai_retry_base_seconds=0.01)
    return OpenAIProvider(settings, redis_client)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_transient_errors_then_succeeds(provider, emulator, status):
    admin(emulator, "faults", {"fail_next": {"count": 2, "status": status, "path": "/v1/models"}})
    models = provider.gateway.call(provider.client.models.list)
    assert len(models.data) > 0
    statuses = [r["status"] for r in requests_log(emulator, path="/v1/models")]
    assert statuses == [status, status, 200]


def test_gives_up_after_its_budget_with_provider_unavailable(provider, emulator):
    admin(emulator, "faults", {"fail_next": {"count": 10, "status": 500, "path": "/v1/models"}})
    with pytest.raises(ProviderUnavailable) as raised:
        provider.gateway.call(provider.client.models.list)
    assert raised.value.status == 503
    assert raised.value.code == "provider_unavailable"
    assert len(requests_log(emulator, path="/v1/models")) == 4  # 1 + openai_max_retries


def test_client_errors_are_not_retried(provider, emulator):
    with pytest.raises(ProviderRejected) as raised:
        provider.retrieve_file("file-missing")
    assert raised.value.provider_status == 404
    assert len(requests_log(emulator, path="/v1/files/file-missing")) == 1


def test_provider_key_never_in_the_error(emulator, redis_url, tmp_path, redis_client):
    key = "sk-secret-do-not-show-1234"
    settings = make_settings(redis_url, tmp_path, openai_base_url=emulator, openai_api_key=key,
                             openai_max_retries=0)
    provider = OpenAIProvider(settings, redis_client)
    admin(emulator, "faults", {"fail_next": {"count": 1, "status": 401, "path": "/v1/models"}})
    with pytest.raises(ServiceError) as raised:
        provider.gateway.call(provider.client.models.list)
    assert raised.value.code == "provider_auth_failed"
    assert key not in raised.value.detail
    assert key not in repr(raised.value.__dict__)


BURST = """
import sys, time
from service.provider.openai import OpenAIProvider
from tests.support.env import make_settings
from pathlib import Path
import redis
settings = make_settings(sys.argv[1], Path("/tmp"), openai_base_url=sys.argv[2],
                         openai_api_key="sk-emulator-test-0123456789",
                         openai_requests_per_minute=600)
provider = OpenAIProvider(settings, redis.Redis.from_url(sys.argv[1]))
for _ in range(int(sys.argv[3])):
    provider.gateway.call(provider.client.models.list)
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


def upload_files(provider: OpenAIProvider, count: int) -> list[str]:
    """Ids of count new files, newest first (as the provider lists them)."""
    ids = [provider.upload_file(f"f{n}.jsonl", io.BytesIO(b'{"n": %d}\n' % n), "batch").id
           for n in range(count)]
    return ids[::-1]


def files_listed(emulator: str) -> int:
    return len(requests_to_by(emulator, "/v1/files", "GET"))


def requests_to_by(emulator: str, path: str, method: str) -> list[dict]:
    return [r for r in requests_log(emulator, path=path) if r["method"] == method]


def test_each_reads_every_page_in_order(provider, emulator):
    ids = upload_files(provider, 5)
    first = value("ftm_provider_requests_total", route="files.list", outcome="ok")
    later = value("ftm_provider_requests_total", route="next_page", outcome="ok")
    listed = [f.id for f in provider.gateway.each(provider.client.files.list, limit=2)]
    assert listed == ids
    assert files_listed(emulator) == 3  # 2 + 2 + 1
    # Each page is a request under the policy: the first by its SDK route, the next ones after.
    assert value("ftm_provider_requests_total", route="files.list", outcome="ok") == first + 1
    assert value("ftm_provider_requests_total", route="next_page", outcome="ok") == later + 2


def test_each_asks_for_no_page_it_is_not_read(provider, emulator):
    ids = upload_files(provider, 5)
    taken = list(islice(provider.gateway.each(provider.client.files.list, limit=2), 3))
    assert [f.id for f in taken] == ids[:3]
    assert files_listed(emulator) == 2


def test_pages_end_at_an_empty_list(provider, emulator):
    pages = list(provider.gateway.pages(provider.client.files.list, limit=2))
    assert [page.data for page in pages] == [[]]
    assert files_listed(emulator) == 1


def test_find_file_matches_name_and_size(provider):
    upload_files(provider, 3)
    wanted = provider.upload_file("wanted.jsonl", io.BytesIO(b'{"n": 7}\n'), "batch")
    assert provider.find_file("batch", "wanted.jsonl", wanted.bytes).id == wanted.id
    assert provider.find_file("batch", "wanted.jsonl", wanted.bytes + 1) is None
    assert provider.find_file("fine-tune", "wanted.jsonl", wanted.bytes) is None
