"""One storage contract for both backends: a local directory, and S3 (moto's server over HTTP)."""

import hashlib
import random
import uuid

import boto3
import pytest

from service.storage import build_storage
from tests.factories import chat_lines, ready_dataset, upload
from tests.support.api import problem
from tests.support.env import AWS_ENV, make_settings

NAME = "datasets/ds_contract"


@pytest.fixture
def s3_settings(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Settings overrides for S3 storage in a new, empty bucket."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    bucket = f"ftm-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return {"storage": "s3", "s3_bucket": bucket, "s3_endpoint_url": s3_endpoint}


def bucket_keys(s3_settings: dict[str, object]) -> list[str]:
    client = boto3.client("s3", endpoint_url=str(s3_settings["s3_endpoint_url"]))
    listing = client.list_objects_v2(Bucket=str(s3_settings["s3_bucket"]))
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path):
    overrides = request.getfixturevalue("s3_settings") if request.param == "s3" else {}
    return build_storage(make_settings("redis://127.0.0.1:1/0", tmp_path / "data", **overrides))


def write_chunks(storage, name: str, chunks: list[bytes]) -> None:
    with storage.writer(name) as out:
        for chunk in chunks:
            out.write(chunk)


def read_back(storage, name: str, size: int = 100_000) -> tuple[int, str]:
    digest, total = hashlib.sha256(), 0
    with storage.reader(name) as file:
        while chunk := file.read(size):
            digest.update(chunk)
            total += len(chunk)
    return total, digest.hexdigest()


def test_chunked_write_reads_back_byte_exact(storage):
    rng = random.Random(3)
    chunks = [rng.randbytes(rng.randint(1, 1 << 17)) for _ in range(60)]
    whole = b"".join(chunks)
    write_chunks(storage, NAME, chunks)
    assert read_back(storage, NAME) == (len(whole), hashlib.sha256(whole).hexdigest())
    with storage.local_path(NAME) as path:
        assert path.read_bytes() == whole


def test_write_replaces_the_previous_content(storage):
    write_chunks(storage, NAME, [b"first version, longer than the second"])
    write_chunks(storage, NAME, [b"second"])
    with storage.reader(NAME) as file:
        assert file.read() == b"second"


def test_failed_write_leaves_nothing(storage):
    with pytest.raises(RuntimeError), storage.writer(NAME) as out:
        out.write(b"x" * 300_000)
        raise RuntimeError("the client went away")
    with pytest.raises(FileNotFoundError):
        read_back(storage, NAME)
    if hasattr(storage, "root"):
        assert [p for p in storage.root.rglob("*") if p.is_file()] == []


def test_missing_name_is_file_not_found(storage):
    with pytest.raises(FileNotFoundError), storage.reader("datasets/ds_missing"):
        pass
    with pytest.raises(FileNotFoundError), storage.local_path("datasets/ds_missing"):
        pass


def test_delete_is_idempotent(storage):
    write_chunks(storage, NAME, [b"a line\n"])
    storage.delete(NAME)
    storage.delete(NAME)
    storage.delete("datasets/ds_never_written")
    with pytest.raises(FileNotFoundError):
        read_back(storage, NAME)


def test_reachable(storage):
    assert storage.is_reachable()


def test_missing_bucket_is_not_reachable(s3_settings, tmp_path):
    settings = make_settings("redis://127.0.0.1:1/0", tmp_path,
                             **{**s3_settings, "s3_bucket": "ftm-no-such-bucket"})
    assert not build_storage(settings).is_reachable()


class TestDatasetsOnS3:
    @pytest.fixture
    def settings_overrides(self, s3_settings):
        return s3_settings

    def test_upload_validate_download_delete(self, client, ctx, auth, settings, s3_settings):
        content = chat_lines(40).encode()
        dataset = ready_dataset(client, ctx, auth, content, name="on-s3")
        assert dataset["status"] == "ready"
        assert dataset["rows"] == 40
        assert dataset["sha256"] == hashlib.sha256(content).hexdigest()
        assert bucket_keys(s3_settings) == [f"{settings.s3_prefix}datasets/{dataset['id']}"]
        assert not (settings.data_dir / "files").exists()

        download = client.get(f"/v1/datasets/{dataset['id']}/content", headers=auth)
        assert download.status_code == 200
        assert download.content == content
        rows = client.get(f"/v1/datasets/{dataset['id']}/rows?offset=38", headers=auth).json()
        assert [r["row"] for r in rows["data"]] == [39, 40]
        report = client.get(f"/v1/datasets/{dataset['id']}/report", headers=auth).json()
        assert report["valid_examples"] == 40
        assert client.get("/readyz").json()["checks"]["storage"] is True

        deleted = client.delete(f"/v1/datasets/{dataset['id']}", headers=auth)
        assert deleted.status_code == 200
        assert deleted.json()["deleted"] is True
        assert bucket_keys(s3_settings) == []
        gone = client.get(f"/v1/datasets/{dataset['id']}/content", headers=auth)
        assert gone.status_code == 404

    def test_refused_upload_leaves_no_object(self, client, auth, s3_settings):
        content = "q,a\ncaf\xe9,1\n".encode("latin-1")
        response = upload(client, auth, content, filename="x.csv")
        problem(response, 422, "unsupported_encoding")
        assert bucket_keys(s3_settings) == []
