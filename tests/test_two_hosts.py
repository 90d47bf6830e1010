"""Two hosts sharing one Redis and one S3 bucket (moto's server), each with its own data
directory, its own API (`ftm-api`) and its own worker (`ftm-worker`), as installed. The
walkthrough runs with its requests alternating between the two APIs: every dataset reads the same
from either, the job succeeds with one provider job, and one sweep loop leads at a time."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import redis

from devtools.redis_server import free_port
from service.store import keys
from tests.datagen import reflections_csv
from tests.factories import wait_until
from tests.support.emulator import read, stats
from tests.support.env import ADMIN_KEY, AWS_ENV, EMULATOR_KEY
from tests.support.stack import CONVERT
from tests.support.workers import stop_worker

BIN = Path(sys.executable).parent
LEADER_KEY = keys.lock("sweeps", "leader")
SPLIT = {"strategy": "stratified", "fractions": {"train": 0.8, "validation": 0.1, "test": 0.1},
         "seed": 1, "label": "assistant"}


@dataclass
class Host:
    """One machine's share of the deployment: a data directory, an API and a worker."""

    folder: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return Path(self.env["FTM_DATA_DIR"])

    def start(self) -> None:
        for name, command in (("api", ["ftm-api", "--port", str(self.port)]),
                              ("worker", ["ftm-worker"])):
            with (self.folder / f"{name}.log").open("ab") as out:
                self.processes.append(subprocess.Popen(
                    [str(BIN / command[0]), *command[1:]], cwd=self.folder, env=self.env,
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self) -> None:
        for process in self.processes:
            stop_worker(process)

    def heartbeat(self) -> dict[str, Any] | None:
        """What this host's sweep loop last wrote: its pid, when, and its role."""
        beats = list((self.data_dir / "worker").glob("*.heartbeat"))
        return json.loads(beats[0].read_text()) if beats else None

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    name = f"ftm-hosts-{os.getpid()}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, **aws_credentials())
    client.create_bucket(Bucket=name)
    return name


def aws_credentials() -> dict[str, str]:
    return {"aws_access_key_id": AWS_ENV["AWS_ACCESS_KEY_ID"], "region_name": "us-east-1",
            "aws_secret_access_key": AWS_ENV["AWS_SECRET_ACCESS_KEY"]}


@pytest.fixture
def hosts(redis_client: redis.Redis, redis_url: str, emulator: str, s3_endpoint: str,
          bucket: str, tmp_path: Path) -> Iterator[list[Host]]:
    shared = {"PATH": f"{BIN}:/usr/bin:/bin", **AWS_ENV, "FTM_REDIS_URL": redis_url,
              "FTM_ADMIN_KEY": ADMIN_KEY, "FTM_STORAGE": "s3", "FTM_S3_BUCKET": bucket,
              "FTM_S3_ENDPOINT_URL": s3_endpoint, "OPENAI_BASE_URL": emulator,
              "OPENAI_API_KEY": EMULATOR_KEY, "FTM_LOG_LEVEL": "INFO",
              "FTM_SYNC_SWEEP_SECONDS": "1", "FTM_SYNC_INTERVAL_RUNNING_SECONDS": "0.5",
              "FTM_SYNC_INTERVAL_QUEUED_SECONDS": "0.5"}
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        shared["TIKTOKEN_CACHE_DIR"] = os.environ["TIKTOKEN_CACHE_DIR"]
    started = []
    for name in ("host-a", "host-b"):
        folder = tmp_path / name
        folder.mkdir()
        started.append(Host(folder, {**shared, "HOME": str(folder),
                                     "FTM_DATA_DIR": str(folder / "data")}))
    try:
        for host in started:
            host.start()
        for host in started:
            wait_until(host.ready, timeout=90, every=0.2)
            wait_until(host.heartbeat, timeout=90, every=0.2)
        yield started
    finally:
        for host in started:
            host.stop()
        for host in started:
            for log in ("api.log", "worker.log"):
                print(f"--- {host.folder.name}/{log}", (host.folder / log).read_text()[-3000:])


class Alternating:
    """An HTTP client sending each request to the next host in turn; before each one it notes
    which sweep loop holds the leader lock and what each host's loop says it is."""

    def __init__(self, hosts: list[Host], store: redis.Redis) -> None:
        self.hosts, self.store, self.turn = hosts, store, 0
        self.headers: dict[str, str] = {"Authorization": f"Bearer {ADMIN_KEY}"}
        self.samples: list[tuple[bytes | None, list[dict[str, Any]]]] = []

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.sample()
        host = self.hosts[self.turn % len(self.hosts)]
        self.turn += 1
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return httpx.request(method, host.url + path, headers=headers, timeout=60, **kwargs)

    def sample(self) -> None:
        beats = [host.heartbeat() or {} for host in self.hosts]
        self.samples.append((self.store.get(LEADER_KEY), beats))

    def json(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        assert response.status_code == expect, (method, path, response.text)
        return response.json()

    def settled(self, path: str, field: str, waiting: set[str], timeout: float = 180) -> Any:
        """Poll path (across both hosts) until its field leaves the waiting states."""
        def done() -> Any:
            body = self.json("GET", path, 200)
            return body if body[field] not in waiting else None
        return wait_until(done, timeout=timeout, every=0.3)


def test_two_hosts_run_the_walkthrough(hosts: list[Host], redis_client: redis.Redis,
                                       emulator: str, s3_endpoint: str, bucket: str,
                                       tmp_path: Path):
    api = Alternating(hosts, redis_client)
    project = api.json("POST", "/v1/admin/projects", 201, json={"name": "two-hosts"})
    key = api.json("POST", f"/v1/admin/projects/{project['id']}/keys", 201, json={})
    api.headers = {"Authorization": f"Bearer {key['key']}"}

    csv = reflections_csv(tmp_path / "reflections.csv")
    datasets = prepare_datasets(api, csv.path.read_bytes())
    job = run_job(api, datasets)
    evaluation = api.json("POST", "/v1/evaluations", 202,
                          json={"dataset": datasets["test"], "job": job["id"], "max_tokens": 10})
    evaluation = api.settled(f"/v1/evaluations/{evaluation['id']}", "status",
                             {"queued", "running"})
    assert evaluation["status"] == "succeeded", evaluation
    assert set(evaluation["results"]) == {job["model"], job["fine_tuned_model"]}

    check_content_is_shared(hosts, api.headers, datasets, csv.path.read_bytes(), s3_endpoint,
                            bucket)
    check_one_provider_job(emulator, job)
    check_one_leader(api, hosts)
    check_both_workers_served(hosts)


def prepare_datasets(api: Alternating, content: bytes) -> dict[str, str]:
    """Upload, convert and split; answer the ids by role (csv, chat, train, validation, test)."""
    upload = api.json("POST", "/v1/datasets", 201, data={"name": "reflections"},
                      files={"file": ("reflections.csv", content, "text/csv")})
    ids = {"csv": ready(api, upload["id"])}
    chat = api.json("POST", f"/v1/datasets/{ids['csv']}/convert", 201, json=CONVERT)
    ids["chat"] = ready(api, chat["id"])
    split = api.json("POST", f"/v1/datasets/{ids['chat']}/split", 201, json=SPLIT)
    ids.update({name: ready(api, part["id"]) for name, part in split["splits"].items()})
    report = api.json("GET", f"/v1/datasets/{ids['chat']}/report", 200)
    assert report["examples"] == chat["rows"]
    assert report["estimate"]["cost_usd"] > 0
    return ids


def ready(api: Alternating, dataset_id: str) -> str:
    dataset = api.settled(f"/v1/datasets/{dataset_id}", "status", {"processing"})
    assert dataset["status"] == "ready", dataset
    return dataset_id


def run_job(api: Alternating, datasets: dict[str, str]) -> Any:
    body = {"model": "gpt-4o-mini-2024-07-18", "training_dataset": datasets["train"],
            "validation_dataset": datasets["validation"], "suffix": "reflection"}
    once = {"Idempotency-Key": f"two-hosts-{datasets['train']}"}
    job = api.json("POST", "/v1/jobs", 202, json=body, headers=once)
    again = api.request("POST", "/v1/jobs", json=body, headers=once)  # on the other host
    assert again.json()["id"] == job["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    active = {"pending", "preparing", "validating_files", "queued", "running"}
    job = api.settled(f"/v1/jobs/{job['id']}", "status", active)
    assert job["status"] == "succeeded", job
    assert job["fine_tuned_model"], job
    reached = [e["data"]["to"] for e in all_events(api, job["id"]) if e["type"] == "status"]
    assert reached.count("succeeded") == 1, reached
    return job


def all_events(api: Alternating, job_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    page = {"has_more": True, "last_id": None}
    while page["has_more"]:
        params = {"limit": 100, **({"after": page["last_id"]} if page["last_id"] else {})}
        page = api.json("GET", f"/v1/jobs/{job_id}/events", 200, params=params)
        events += page["data"]
    return events


def check_content_is_shared(hosts: list[Host], headers: dict[str, str],
                            datasets: dict[str, str], uploaded: bytes, s3_endpoint: str,
                            bucket: str) -> None:
    for role, dataset_id in datasets.items():
        contents = [httpx.get(f"{host.url}/v1/datasets/{dataset_id}/content", headers=headers,
                              timeout=60) for host in hosts]
        assert [r.status_code for r in contents] == [200, 200], role
        assert contents[0].content == contents[1].content, role
        assert contents[0].content, role
    first = httpx.get(f"{hosts[1].url}/v1/datasets/{datasets['csv']}/content", headers=headers)
    assert first.content == uploaded
    client = boto3.client("s3", endpoint_url=s3_endpoint, **aws_credentials())
    stored = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    for dataset_id in datasets.values():
        assert any(dataset_id in name for name in stored), f"{dataset_id} not in the bucket"
    for host in hosts:  # the files live in the bucket, not on either host
        local = [p for p in host.data_dir.rglob("*") if p.is_file() and "ds_" in p.name]
        assert local == [], local


def check_one_provider_job(emulator: str, job: dict[str, Any]) -> None:
    provider = read(emulator, "jobs")["data"]
    assert [p["id"] for p in provider] == [job["provider"]["job_id"]]
    assert provider[0]["metadata"]["ftm_job_id"] == job["id"]
    assert provider[0]["status"] == "succeeded"
    counts = stats(emulator)
    assert counts["files"]["by_purpose"].get("fine-tune") == 2, "each dataset uploaded once"


def check_one_leader(api: Alternating, hosts: list[Host]) -> None:
    """One sweep loop held the leader lock all along; the other kept beating as standby."""
    assert len(api.samples) > 20
    holders = {holder for holder, _ in api.samples}
    assert len(holders) == 1, holders
    assert None not in holders, holders
    roles = {tuple(beat.get("role") for beat in beats) for _, beats in api.samples}
    assert roles in ({("leader", "standby")}, {("standby", "leader")}), roles
    leads = [beat.get("role") for beat in api.samples[0][1]].index("leader")
    first, last = api.samples[0][1][1 - leads], api.samples[-1][1][1 - leads]
    assert last["at"] > first["at"], "the standby kept beating"
    assert last["pid"] == first["pid"], "the standby kept beating"
    assert f":{api.samples[-1][1][leads]['pid']}:" in holders.pop().decode()  # type: ignore[union-attr]


def check_both_workers_served(hosts: list[Host]) -> None:
    """Each host's API and worker did part of the work, logging JSON lines only, and the
    worker's health check passes."""
    for host in hosts:
        for log, event in (("api.log", "http.request"), ("worker.log", "task.done")):
            lines = [json.loads(line) for line in (host.folder / log).read_text().splitlines()]
            assert any(line.get("event") == event for line in lines), f"{host.folder.name} {log}"
        check = subprocess.run([str(BIN / "ftm-worker"), "--check"], cwd=host.folder,
                               env=host.env, capture_output=True, text=True, timeout=60,
                               check=False)
        assert (check.returncode, check.stdout.strip()) == (0, "ok"), check.stdout + check.stderr
