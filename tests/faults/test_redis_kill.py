"""Redis killed with SIGKILL under concurrent writers and started again on the same AOF
(appendonly yes, appendfsync always): every write the API acknowledged is still there and
consistent, and nothing answered a 5xx other than 503 store_unavailable."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from service.context import build_context
from tests.factories import chat_lines, run_tasks, wait_until
from tests.support.env import ADMIN_KEY, MODEL, make_settings
from tests.support.redis_servers import OwnRedis
from tests.support.servers import serving

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CLIENTS = 4


@dataclass
class Ledger:
    """What the clients were told: acknowledged writes, and every other answer."""

    acked: list[tuple[str, dict, object]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, answer: httpx.Response, sent: object = None) -> dict | None:
        with self.lock:
            if answer.is_success:
                self.acked.append((kind, answer.json(), sent))
                return answer.json()
            code = answer.json().get("code", "") if "json" in answer.headers.get(
                "content-type", "") else answer.text[:200]
            self.refused.append((answer.status_code, code))
            return None

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def refusals(self) -> int:
        with self.lock:
            return len(self.refused)


@pytest.fixture
def api(own_redis: OwnRedis, tmp_path: Path) -> Iterator[tuple[str, object]]:
    from service.api.app import create_app

    settings = make_settings(own_redis.url, tmp_path / "data", rate_limit_per_minute=1_000_000)
    with serving(create_app(settings)) as url:
        yield url, settings


def writer(url: str, project_id: str, auth: dict[str, str], dataset_id: str, n: int,
           ledger: Ledger, stop: threading.Event) -> None:
    """Create a dataset, a job, a webhook and a key, over and over, until told to stop."""
    with httpx.Client(base_url=url, timeout=30) as http:
        i = 0
        while not stop.is_set():
            i += 1
            body = chat_lines(3 + i % 5).encode()
            ledger.note("dataset", http.post("/v1/datasets", headers=auth, files={
                "file": (f"w{n}-{i}.jsonl", body)}), body)
            ledger.note("job", http.post("/v1/jobs", headers=auth, json={
                "model": MODEL, "training_dataset": dataset_id, "suffix": f"w{n}-{i}"}))
            hook = f"https://hooks.example.com/w{n}/{i}"
            ledger.note("webhook", http.post("/v1/webhooks", headers=auth, json={
                "url": hook, "events": ["job.succeeded"]}), hook)
            ledger.note("key", http.post(f"/v1/admin/projects/{project_id}/keys",
                                         headers=ADMIN, json={"name": f"w{n}-{i}"}))


def listed(http: httpx.Client, auth: dict[str, str], path: str) -> set[str]:
    ids, after = set(), {}
    while True:
        page = http.get(path, headers=auth, params={"limit": 100, **after}).json()
        ids |= {item["id"] for item in page["data"]}
        if not page["has_more"]:
            return ids
        after = {"after": page["last_id"]}


def queued_validations(settings: object) -> set[str]:
    ctx = build_context(settings)  # type: ignore[arg-type]
    try:
        return {job.args[0] for job in ctx.queue_for("validate_dataset").get_jobs()
                if job.func_name == "worker.tasks.validate_dataset"}
    finally:
        ctx.redis.close()


def check_acknowledged(http: httpx.Client, auth: dict[str, str], ledger: Ledger,
                       dataset_id: str, validations: set[str]) -> None:
    datasets, jobs = listed(http, auth, "/v1/datasets"), listed(http, auth, "/v1/jobs")
    webhooks = listed(http, auth, "/v1/webhooks")
    for kind, answer, sent in ledger.acked:
        if kind == "dataset":
            found = http.get(f"/v1/datasets/{answer['id']}", headers=auth)
            assert found.status_code == 200, answer
            assert answer["id"] in datasets, answer
            assert (found.json()["sha256"], found.json()["bytes"]) == (
                answer["sha256"], answer["bytes"])
            assert http.get(f"/v1/datasets/{answer['id']}/content", headers=auth).content == sent
            assert answer["id"] in validations  # its validation will run
        elif kind == "job":
            found = http.get(f"/v1/jobs/{answer['id']}", headers=auth)
            assert found.status_code == 200, answer
            assert answer["id"] in jobs, answer
            assert found.json()["training_dataset"] == dataset_id
            assert found.json()["suffix"] == answer["suffix"]
            events = http.get(f"/v1/jobs/{answer['id']}/events", headers=auth).json()["data"]
            assert events[0]["data"] == {"from": None, "to": "pending"}, events
        elif kind == "webhook":
            found = http.get(f"/v1/webhooks/{answer['id']}", headers=auth)
            assert found.status_code == 200, answer
            assert found.json()["url"] == sent, answer
            assert answer["id"] in webhooks
        else:
            own = {"Authorization": f"Bearer {answer['key']}"}
            assert http.get("/v1/jobs", headers=own, params={"limit": 1}).status_code == 200


def test_no_acknowledged_write_is_lost_when_redis_is_killed(own_redis, api):
    url, settings = api
    with httpx.Client(base_url=url, timeout=30) as http:
        project = http.post("/v1/admin/projects", headers=ADMIN, json={"name": "p"}).json()
        key = http.post(f"/v1/admin/projects/{project['id']}/keys", headers=ADMIN, json={}).json()
        auth = {"Authorization": f"Bearer {key['key']}"}
        dataset_id = http.post("/v1/datasets", headers=auth, files={
            "file": ("train.jsonl", chat_lines(20).encode())}).json()["id"]
        ctx = build_context(settings)
        run_tasks(ctx)  # validated, so jobs can be created on it
        ctx.redis.close()
        assert http.get(f"/v1/datasets/{dataset_id}", headers=auth).json()["status"] == "ready"

        ledger, stop = Ledger(), threading.Event()
        threads = [threading.Thread(target=writer, args=(url, project["id"], auth, dataset_id,
                                                         n, ledger, stop)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: ledger.count() >= 40, timeout=120)
            own_redis.kill()
            acked_before_restart = ledger.count()
            wait_until(lambda: ledger.refusals() >= CLIENTS, timeout=60)
            own_redis.start()
            wait_until(lambda: ledger.count() >= acked_before_restart + 40, timeout=120)
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)

        print(f"{len(ledger.acked)} writes acknowledged, {len(ledger.refused)} refused")
        assert set(ledger.refused) <= {(503, "store_unavailable")}, set(ledger.refused)
        assert {kind for kind, _, _ in ledger.acked} == {"dataset", "job", "webhook", "key"}
        check_acknowledged(http, auth, ledger, dataset_id, queued_validations(settings))
