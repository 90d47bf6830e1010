"""Webhooks reach public addresses only: loopback, private, link-local, multicast and unspecified
targets are refused at registration in every spelling and again at delivery after DNS
resolution; a local receiver proves no request reaches a refused address."""

import socket

import pytest

from service.context import build_context
from service.webhooks.service import notify
from tests.support.api import new_project_key, problem
from tests.support.webhooks import JOB, Receiver, deliveries, run_until_idle


def internal_name() -> list[str]:
    """This machine's name, which resolves to a loopback or private address (if it resolves)."""
    try:
        socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return []
    return [socket.gethostname()]


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"webhook_retry_base_seconds": 0.05, "webhook_max_attempts": 2}


def refused_spellings(port: int) -> list[str]:
    return [f"http://127.0.0.1:{port}/hook", f"http://127.1:{port}/", f"http://2130706433:{port}/",
            f"http://0x7f.0.0.1:{port}/", f"http://0.0.0.0:{port}/",
            f"http://[::1]:{port}/", f"http://[::ffff:127.0.0.1]:{port}/",
            f"http://localhost:{port}/", f"http://LOCALHOST.:{port}/", f"http://a.localhost:{port}/",
            *(f"http://{name}:{port}/" for name in internal_name()), f"https://127.0.0.1:{port}/",
            "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://172.16.5.4/",
            "http://192.168.1.1/", "http://100.64.0.1/", "http://224.0.0.1/", "http://[fe80::1]/",
            "http://[fd00::1]/", "http://[ff02::1]/", "http://[::]/", "http://[2002:7f00:1::]/",
            "http://[64:ff9b::7f00:1]/"]


def test_refused_addresses_are_422_in_every_spelling_and_never_reached(client, auth, receiver):
    for url in refused_spellings(receiver.port):
        for path, body, field in (
                ("/v1/webhooks", {"url": url, "events": ["job.succeeded"]}, "body.url"),
                ("/v1/jobs", {"model": "gpt-4o-mini-2024-07-18", "training_dataset": "ds_x",
                              "webhook_url": url}, "body.webhook_url")):
            answer = client.post(path, headers=auth, json=body)
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json()["code"] == "webhook_target_not_allowed", url
            assert answer.json()["errors"][0]["field"] == field
    assert client.get("/v1/webhooks", headers=auth).json()["data"] == []
    assert client.get("/v1/jobs", headers=auth).json()["data"] == []
    assert receiver.requests == []


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "file:///etc/passwd",
                                 "gopher://hooks.example.com/", "not a url", "//no-scheme.example/",
                                 "http://user:pass@hooks.example.com/x",
                                 "https://token@hooks.example.com/x", "http://0177.0.0.1/"])
def test_malformed_urls_other_schemes_and_credentials_are_422(client, auth, url):
    for path, body in (("/v1/webhooks", {"url": url, "events": ["job.succeeded"]}),
                       ("/v1/jobs", {"model": "gpt-4o-mini-2024-07-18",
                                     "training_dataset": "ds_x", "webhook_url": url})):
        answer = client.post(path, headers=auth, json=body)
        problem(answer, 422, "invalid_webhook_url")


def test_public_and_unresolvable_names_are_accepted(client, auth):
    for url in ("https://hooks.example.com/ftm", "http://93.184.215.14:8080/x",
                "https://[2606:4700::1111]/x"):
        answer = client.post("/v1/webhooks", headers=auth,
                             json={"url": url, "events": ["job.succeeded"]})
        assert answer.status_code == 201, (url, answer.text)
        webhook = answer.json()
        assert webhook["id"].startswith("wh_")
        assert webhook["url"] == url
        assert webhook["events"] == ["job.succeeded"]
        assert webhook["secret"].startswith("whsec_")


@pytest.mark.parametrize("settings_overrides", [{"webhook_allowed_targets": ["localhost"],
                                                 "webhook_max_attempts": 1}])
def test_an_allowed_internal_receiver_gets_the_delivery_under_its_own_name(
        client, ctx, receiver, settings_overrides):
    project_id, auth = new_project_key(client)
    url = f"http://localhost:{receiver.port}/hook"
    assert client.post("/v1/webhooks", headers=auth,
                       json={"url": url, "events": ["job.succeeded"]}).status_code == 201
    notify(ctx, project_id, "job.succeeded", JOB)
    run_until_idle(ctx)
    [request] = receiver.requests
    path, headers = request.path, request.headers
    assert path == "/hook"
    assert headers["host"] == f"localhost:{receiver.port}"


@pytest.mark.parametrize("settings_overrides", [{"webhook_allowed_targets": ["127.0.0.0/8"],
                                                 "webhook_retry_base_seconds": 0.05,
                                                 "webhook_max_attempts": 2}])
def test_delivery_checks_the_resolved_address_again(client, settings, receiver,
                                                    settings_overrides):
    """Registered while allowed (or while the name resolved elsewhere); the worker, whose
    settings allow nothing internal, refuses each attempt once the name resolves to loopback."""
    project_id, auth = new_project_key(client)
    hook = client.post("/v1/webhooks", headers=auth, json={
        "url": f"http://localhost:{receiver.port}/hook", "events": ["job.succeeded"]}).json()
    worker = build_context(settings.model_copy(update={"webhook_allowed_targets": []}))
    notify(worker, project_id, "job.succeeded", JOB)
    run_until_idle(worker)
    [delivery] = deliveries(client, auth, hook["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 2
    assert delivery["last_error"] == "refused address"
    assert delivery["last_status_code"] is None
    assert receiver.requests == []
    worker.redis.close()


@pytest.mark.parametrize("settings_overrides", [{"webhook_allowed_targets": ["127.0.0.1/32"],
                                                 "webhook_max_attempts": 1}])
def test_redirects_are_not_followed(client, ctx, receiver, settings_overrides):
    project_id, auth = new_project_key(client)
    elsewhere = Receiver()
    receiver.redirect_to = f"http://127.0.0.1:{elsewhere.port}/stolen"
    hook = client.post("/v1/webhooks", headers=auth, json={
        "url": f"http://127.0.0.1:{receiver.port}/hook", "events": ["job.succeeded"]}).json()
    notify(ctx, project_id, "job.succeeded", JOB)
    run_until_idle(ctx)
    elsewhere.close()
    [delivery] = deliveries(client, auth, hook["id"])
    assert delivery["last_error"] == "HTTP 307"
    assert len(receiver.requests) == 1
    assert elsewhere.requests == []
