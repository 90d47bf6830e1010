"""tiktoken's files unreachable (an empty cache directory, downloads refused by a dead proxy):
what needs a tokenizer answers 503 tokenizer_unavailable naming the encoding and the setting,
nothing is half-written, /readyz is not ready; all of it recovers once the files are back."""

import os
from pathlib import Path

import pytest
import tiktoken.registry

from devtools.redis_server import free_port
from service.api.app import create_app
from service.datasets import tokens
from tests.factories import chat_lines, ready_dataset, run_tasks, upload
from tests.support.env import make_settings

OTHER_MODEL = "gpt-3.5-turbo-0125"  # cl100k_base, where the default model uses o200k_base
CSV = "question,answer\n" + "".join(f"q{n},a{n}\n" for n in range(20))


def go_offline(monkeypatch: pytest.MonkeyPatch, empty: Path) -> None:
    """The cache directory empty, every download through a proxy that refuses, and no encoding
    already loaded in this process (all restored after the test)."""
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(empty))
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, dead)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("o200k_base", "cl100k_base"):
        monkeypatch.delitem(tiktoken.registry.ENCODINGS, name, raising=False)
    monkeypatch.setattr(tokens, "_unavailable", {}, raising=False)


def unavailable(answer, encoding: str) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "tokenizer_unavailable"
    assert int(answer.headers["Retry-After"]) > 0
    assert repr(encoding) in body["detail"]
    assert "FTM_TIKTOKEN_CACHE_DIR" in body["detail"]


def test_without_tokenizer_files_requests_answer_503_and_write_nothing(
        client, ctx, auth, settings, monkeypatch, tmp_path):
    chat = ready_dataset(client, ctx, auth, chat_lines(30))
    table = ready_dataset(client, ctx, auth, CSV, filename="t.csv")
    assert chat["status"] == table["status"] == "ready"
    files_before = sorted(p.name for p in (settings.data_dir / "files").rglob("*"))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", os.environ.get("TIKTOKEN_CACHE_DIR", ""))
    online = os.environ["TIKTOKEN_CACHE_DIR"]
    go_offline(monkeypatch, tmp_path / "empty-cache")

    unavailable(client.get(f"/v1/datasets/{chat['id']}/report?model={OTHER_MODEL}",
                           headers=auth), "cl100k_base")
    for dry_run in (True, False):
        unavailable(client.post("/v1/jobs", headers=auth, json={
            "model": OTHER_MODEL, "training_dataset": chat["id"], "dry_run": dry_run}),
            "cl100k_base")
    unavailable(client.post(f"/v1/datasets/{table['id']}/convert", headers=auth, json={
        "target": "chat", "user": "{question}", "assistant": "{answer}"}), "o200k_base")
    unavailable(client.post(f"/v1/datasets/{chat['id']}/split", headers=auth,
                            json={"fractions": {"train": 0.8, "validation": 0.2}}), "o200k_base")
    assert client.get("/v1/jobs", headers=auth).json()["data"] == []
    listed = client.get("/v1/datasets", headers=auth).json()["data"]
    assert sorted(d["id"] for d in listed) == sorted([chat["id"], table["id"]])
    assert sorted(p.name for p in (settings.data_dir / "files").rglob("*")) == files_before

    pending = upload(client, auth, chat_lines(5)).json()  # validation waits, the file is fine
    run_tasks(ctx)
    after = client.get(f"/v1/datasets/{pending['id']}", headers=auth).json()
    assert after["status"] == "processing"
    assert after.get("error") is None
    assert ctx.queue_for("validate_dataset").scheduled_job_registry.count == 1

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "o200k_base" in ready.json()["detail"]
    assert "FTM_TIKTOKEN_CACHE_DIR" in ready.json()["detail"]

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", online)  # the files are back
    monkeypatch.setattr(tokens, "_unavailable", {}, raising=False)
    assert client.get("/readyz").status_code == 200
    report = client.get(f"/v1/datasets/{chat['id']}/report?model={OTHER_MODEL}", headers=auth)
    assert report.status_code == 200
    assert report.json()["encoding"] == "cl100k_base"


def test_the_cache_directory_setting_is_what_tiktoken_reads(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", os.environ.get("TIKTOKEN_CACHE_DIR", ""))
    create_app(make_settings("redis://127.0.0.1:1/0", Path("data"),
                             tiktoken_cache_dir=Path("tiktoken-files")))
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(Path("tiktoken-files").resolve())
