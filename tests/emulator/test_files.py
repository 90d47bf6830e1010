"""Files and Uploads through the real SDK."""

import httpx
import openai
import pytest
from openai import OpenAI

from tests.support.emulator_sdk import jsonl, labelled_examples, upload


def test_file_create_list_retrieve_content_delete(client: OpenAI) -> None:
    created = client.files.create(file=("notes.jsonl", b'{"a": 1}\n'), purpose="user_data")
    assert created.id.startswith("file-")
    assert (created.bytes, created.filename, created.purpose) == (9, "notes.jsonl", "user_data")
    assert created.status == "processed"
    assert client.files.retrieve(created.id).filename == "notes.jsonl"
    assert client.files.content(created.id).read() == b'{"a": 1}\n'
    deleted = client.files.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)


def test_file_list_filters_by_purpose_and_pages_with_after(client: OpenAI) -> None:
    tuned = [upload(client) for _ in range(3)]
    other = upload(client, purpose="batch", name="batch.jsonl")
    listed = client.files.list(purpose="fine-tune")
    assert [f.id for f in listed.data] == tuned[::-1]
    first = client.files.list(purpose="fine-tune", limit=2)
    assert first.has_more
    assert len(first.data) == 2
    every = [f.id for f in client.files.list(limit=2)]
    assert every == [other, *tuned[::-1]]


def test_file_with_unknown_purpose_is_refused(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("x.jsonl", b"{}\n"), purpose="training")  # type: ignore[arg-type]
    assert caught.value.param == "purpose"
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]


def test_missing_file_answers_404_in_openai_envelope(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.files.retrieve("file-doesnotexist")
    assert "file-doesnotexist" in caught.value.message
    assert set(caught.value.body) == {"message", "type", "param", "code"}  # type: ignore[arg-type]


def test_training_files_cannot_be_downloaded(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.content(upload(client))
    assert "fine-tune" in caught.value.message


def test_upload_in_parts_completes_into_a_file(client: OpenAI) -> None:
    content = jsonl(labelled_examples())
    created = client.uploads.create(bytes=len(content), filename="big.jsonl",
                                    mime_type="application/jsonl", purpose="fine-tune")
    assert (created.status, created.file) == ("pending", None)
    half = len(content) // 2
    parts = [client.uploads.parts.create(created.id, data=chunk)
             for chunk in (content[:half], content[half:])]
    assert all(p.upload_id == created.id and p.object == "upload.part" for p in parts)
    done = client.uploads.complete(created.id, part_ids=[p.id for p in parts])
    assert done.status == "completed"
    assert done.file is not None
    assert (done.file.bytes, done.file.purpose) == (len(content), "fine-tune")
    assert client.files.retrieve(done.file.id).filename == "big.jsonl"


def test_upload_parts_are_joined_in_the_given_order(client: OpenAI) -> None:
    created = client.uploads.create(bytes=6, filename="o.txt", mime_type="text/plain",
                                    purpose="user_data")
    first = client.uploads.parts.create(created.id, data=b"abc")
    second = client.uploads.parts.create(created.id, data=b"def")
    done = client.uploads.complete(created.id, part_ids=[second.id, first.id])
    assert done.file is not None
    assert client.files.content(done.file.id).read() == b"defabc"


def test_upload_chunked_helper_of_the_sdk_works(client: OpenAI, tmp_path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(jsonl(labelled_examples()) * 3)
    done = client.uploads.upload_file_chunked(file=path, mime_type="application/jsonl",
                                              purpose="fine-tune", part_size=1000)
    assert done.status == "completed"
    assert done.file is not None
    assert done.file.bytes == path.stat().st_size


def test_upload_byte_mismatch_is_refused(client: OpenAI) -> None:
    created = client.uploads.create(bytes=100, filename="short.jsonl",
                                    mime_type="application/jsonl", purpose="fine-tune")
    part = client.uploads.parts.create(created.id, data=b"only a few bytes")
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.complete(created.id, part_ids=[part.id])
    assert "100" in caught.value.message
    assert "16" in caught.value.message
    assert client.files.list().data == []


def test_cancelled_upload_accepts_no_more_parts(client: OpenAI) -> None:
    created = client.uploads.create(bytes=3, filename="c.jsonl", mime_type="application/jsonl",
                                    purpose="fine-tune")
    assert client.uploads.cancel(created.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.uploads.parts.create(created.id, data=b"abc")


def test_upload_with_bad_purpose_or_unknown_part_is_refused(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.create(bytes=3, filename="c.jsonl", mime_type="application/jsonl",
                              purpose="nope")  # type: ignore[arg-type]
    assert caught.value.param == "purpose"
    created = client.uploads.create(bytes=3, filename="c.jsonl", mime_type="application/jsonl",
                                    purpose="fine-tune")
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.complete(created.id, part_ids=["part_unknown"])
    assert caught.value.param == "part_ids"


def test_stats_count_files_by_purpose_and_uploads(client: OpenAI, admin: httpx.Client) -> None:
    upload(client)
    upload(client, purpose="batch")
    client.uploads.create(bytes=3, filename="c.jsonl", mime_type="application/jsonl",
                          purpose="fine-tune")
    stats = admin.get("/stats").json()
    assert stats["files"] == {"total": 2, "by_purpose": {"fine-tune": 1, "batch": 1}}
    assert stats["uploads"] == {"total": 1, "by_status": {"pending": 1}}
