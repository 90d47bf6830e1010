"""The API process killed (SIGKILL) in the middle of an upload, or just after recording it: no
dataset answers as existing with a partial file, and none is left in `processing` for good.
(Removing the partial file on disk is the storage sweep's work, not checked here.)"""

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.datasets.models import Dataset
from tests.factories import chat_lines, run_tasks, wait_until
from tests.support.processes import Api, new_key

BOUNDARY = "ftmtestboundary0123456789"
LINES = chat_lines(2000).encode()


def multipart(chunks: int, sent: threading.Event, hold: threading.Event) -> Iterator[bytes]:
    """A dataset upload that sends `chunks` pieces of its file, then stalls until told."""
    yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
           "filename=\"big.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n").encode()
    for _ in range(chunks):
        yield LINES
    sent.set()
    hold.wait(60)
    yield LINES + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload_in_background(api: Api, auth: dict[str, str], sent: threading.Event,
                         hold: threading.Event) -> threading.Thread:
    def send() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server died under it
            httpx.post(f"{api.url}/v1/datasets", content=multipart(8, sent, hold), timeout=60,
                       headers={**auth,
                                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def partial_files(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.is_file() and p.stat().st_size > 0]


def datasets_seen(api: Api, auth: dict[str, str]) -> list[dict]:
    return httpx.get(f"{api.url}/v1/datasets", headers=auth).json()["data"]


def test_an_upload_cut_by_the_api_dying_leaves_no_dataset(settings, ctx, apis):
    apis.append(api := Api(settings))
    auth = new_key(api)
    sent, hold = threading.Event(), threading.Event()
    thread = upload_in_background(api, auth, sent, hold)
    assert sent.wait(60)
    wait_until(lambda: partial_files(settings.data_dir), timeout=60)  # the file is on its way
    api.kill()
    hold.set()
    thread.join(60)

    apis.append(api := Api(settings))
    assert datasets_seen(api, auth) == []
    assert list(ctx.store.scan(Dataset, None)) == []
    again = httpx.post(f"{api.url}/v1/datasets", headers={**auth, "Idempotency-Key": "retry"},
                       files={"file": ("big.jsonl", LINES)})
    assert again.status_code == 201, again.text
    assert [d["id"] for d in datasets_seen(api, auth)] == [again.json()["id"]]


def test_an_upload_recorded_just_before_the_api_died_is_validated_and_replayed(settings, ctx,
                                                                               apis):
    apis.append(api := Api(settings, FTM_FAULT_POINTS='["datasets.upload.recorded"]'))
    auth = {**new_key(api), "Idempotency-Key": "once"}
    with pytest.raises(httpx.HTTPError):  # the API dies before it answers
        httpx.post(f"{api.url}/v1/datasets", headers=auth, files={"file": ("d.jsonl", LINES)})
    api.process.wait(10)
    assert api.process.returncode == -signal.SIGKILL

    apis.append(api := Api(settings))
    run_tasks(ctx)
    found = datasets_seen(api, auth)
    assert [(d["status"], d["bytes"]) for d in found] == [("ready", len(LINES))]
    again = httpx.post(f"{api.url}/v1/datasets", headers=auth, files={"file": ("d.jsonl", LINES)})
    assert again.status_code == 201, again.text  # the client's retry gets the first answer
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == found[0]["id"]
    assert len(datasets_seen(api, auth)) == 1
