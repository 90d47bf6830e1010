"""An upload through the client is streamed from the file with its length known, and its
progress bar reaches the file's size."""

from pathlib import Path

from fastapi.testclient import TestClient
from rich.progress import Progress

from ftm.client import Client
from ftm.follow import ReadProgress
from tests.support.api import new_project_key


def test_upload_streams_the_file_and_counts_its_bytes(client: TestClient, live_url: str,
                                                      tmp_path: Path) -> None:
    _, headers = new_project_key(client)
    rows = "".join(f'{{"messages": [{{"role": "user", "content": "q{i}"}}, '
                   f'{{"role": "assistant", "content": "a{i} {"x" * 200}"}}]}}\n'
                   for i in range(12_000))
    path = tmp_path / "large.jsonl"
    path.write_text(rows)
    size = path.stat().st_size
    assert size > 2 << 20
    api = Client(live_url, headers["Authorization"].removeprefix("Bearer "))
    with open(path, "rb") as file, Progress(disable=True) as progress:
        task = progress.add_task("large.jsonl", total=size)
        reader = ReadProgress(file, progress, task)
        request = api.build("upload_dataset", files={"file": ("large.jsonl", reader)},
                            data={"name": "large"})
        assert int(request.headers["content-length"]) > size, "sent with its length, not chunked"
        assert not isinstance(request.stream, bytes), "streamed, not read into memory first"
        dataset = api.send(request).json()
        assert progress.tasks[0].completed == size
    assert (dataset["name"], dataset["bytes"], dataset["format"]) == ("large", size, "chat")
    assert api.get_dataset(dataset["id"])["id"] == dataset["id"]
