"""Datasets over HTTP: upload, validate, convert, split, report, content — and bad input."""

import json

import pytest

from tests.datagen import LEVELS, SYSTEM, USER_TEMPLATE, reflections_csv
from tests.factories import chat_lines, ready_dataset, run_tasks, upload
from tests.support.api import new_project_key, problem
from tests.support.env import PUBLIC_DATA

CONVERT = {"name": "reflections-chat", "system": SYSTEM, "user": USER_TEMPLATE,
           "assistant": "{Final}", "value_maps": {"Final": LEVELS}, "on_empty": "skip"}


def stored_files(settings):
    return [p for p in (settings.data_dir / "files").rglob("*") if p.is_file()]


@pytest.fixture
def reflections(tmp_path):
    return reflections_csv(tmp_path / "reflections.csv", rows=200)


@pytest.mark.smoke
def test_csv_upload_is_processing_then_ready_with_columns(client, ctx, auth, reflections):
    response = upload(client, auth, reflections.path.read_bytes(), filename="reflections.csv",
                      name="reflections")
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/v1/datasets/{created['id']}"
    assert created["status"] == "processing"
    assert created["format"] == "csv"
    assert created["bytes"] == len(reflections.path.read_bytes())
    run_tasks(ctx)
    dataset = client.get(f"/v1/datasets/{created['id']}", headers=auth).json()
    assert dataset["status"] == "ready"
    assert dataset["rows"] == 200
    columns = {c["name"]: c for c in dataset["columns"]}
    assert list(columns) == ["Question", "Answers", "Final"]
    assert columns["Final"]["distinct"] == 4
    assert len(columns["Question"]["samples"]) > 0


def test_classic_path_convert_split_report(client, ctx, auth, reflections):
    csv_ds = ready_dataset(client, ctx, auth, reflections.path, name="reflections")
    response = client.post(f"/v1/datasets/{csv_ds['id']}/convert", headers=auth, json=CONVERT)
    assert response.status_code == 201, response.text
    chat = response.json()
    assert chat["parent_id"] == csv_ds["id"]
    assert chat["format"] == "chat"
    skipped_rows = sorted(s["row"] for s in chat["conversion"]["skipped"])
    assert skipped_rows == reflections.empty_answers
    assert chat["conversion"]["converted"] == 200 - len(reflections.empty_answers)
    assert chat["status"] == "ready"
    assert chat["rows"] == chat["conversion"]["converted"]

    first = client.get(f"/v1/datasets/{chat['id']}/rows?limit=1", headers=auth).json()
    messages = first["data"][0]["data"]["messages"]
    assert messages[0] == {"role": "system", "content": SYSTEM}
    assert messages[1]["content"].startswith('Question: """')
    assert messages[2]["content"] in LEVELS.values()

    report = client.get(f"/v1/datasets/{chat['id']}/report?model=gpt-4o-mini-2024-07-18",
                        headers=auth).json()
    assert report["dataset_id"] == chat["id"]
    assert report["encoding"] == "o200k_base"
    assert report["examples"] == chat["rows"]
    assert sum(report["errors"]["counts"].values()) == 0
    counts = report["labels"]["counts"]
    kept = [r for i, r in enumerate(reflections.records, 1) if i not in reflections.empty_answers]
    for code, label in LEVELS.items():
        assert counts[label] == sum(1 for r in kept if r["Final"].strip() == code)
    estimate = report["estimate"]
    assert estimate["trained_tokens"] == estimate["tokens_per_epoch"] * estimate["n_epochs"]

    for fractions in ({"train": 0.8, "validation": 0.1, "test": 0.1},
                      {"train": 0.2, "test": 0.8}):
        response = client.post(f"/v1/datasets/{chat['id']}/split", headers=auth, json={
            "strategy": "stratified", "fractions": fractions, "seed": 1, "label": "assistant"})
        assert response.status_code == 201, response.text
        result = response.json()
        assert set(result["splits"]) == set(fractions)
        assert sum(d["rows"] for d in result["splits"].values()) == chat["rows"]
        for part, share in fractions.items():
            child = result["splits"][part]
            assert child["parent_id"] == chat["id"]
            assert child["status"] == "ready"
            for label, total in counts.items():
                assert abs(result["labels"][part][label] - total * share) <= 1

    def derived(parent_id: str, query: str = "") -> list[str]:
        response = client.get(f"/v1/datasets?parent_id={parent_id}{query}", headers=auth)
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()["data"]]

    every = [d["id"] for d in client.get("/v1/datasets?limit=100", headers=auth).json()["data"]]
    splits = [i for i in every if i not in (chat["id"], csv_ds["id"])]
    assert len(splits) == 5
    assert derived(chat["id"]) == splits  # newest first, like the list
    assert derived(csv_ds["id"]) == [chat["id"]]
    assert derived(chat["id"], f"&limit=2&after={splits[1]}") == splits[2:4]
    assert derived(splits[0]) == []
    assert derived("ds_nothing") == []


def test_report_while_processing_is_409(client, auth):
    created = upload(client, auth, chat_lines(12)).json()
    response = client.get(f"/v1/datasets/{created['id']}/report", headers=auth)
    problem(response, 409, "dataset_not_ready")


def test_cookbook_toy_dataset_report(client, ctx, auth):
    dataset = ready_dataset(client, ctx, auth,
                            PUBLIC_DATA / "openai_cookbook_toy_chat_fine_tuning.jsonl")
    assert dataset["status"] == "ready"
    assert dataset["rows"] == 5
    report = client.get(f"/v1/datasets/{dataset['id']}/report?model=gpt-3.5-turbo",
                        headers=auth).json()
    assert report["warnings"]["counts"]["missing_user_message"] == 1
    assert report["warnings"]["counts"]["missing_system_message"] == 1
    assert report["warnings"]["counts"]["over_token_limit"] == 0
    assert report["tokens"]["total"]["max"] == 8032
    assert report["tokens"]["assistant"]["max"] == 8000


@pytest.mark.smoke
def test_invalid_jsonl_is_invalid_with_line(client, ctx, auth):
    content = chat_lines(3) + '{"messages": [{"role": "user"}]}\n'
    dataset = ready_dataset(client, ctx, auth, content)
    assert dataset["status"] == "invalid"
    assert "line 4" in dataset["error"]
    assert dataset["error"].endswith(" See the report.")
    assert ".." not in dataset["error"]
    report = client.get(f"/v1/datasets/{dataset['id']}/report", headers=auth).json()
    assert report["errors"]["samples"][0]["line"] == 4


def test_non_utf8_csv_is_refused_and_nothing_stored(client, auth, settings):
    content = "Question,Answers,Final\nq,caf\xe9,1\n".encode("latin-1")
    response = upload(client, auth, content, filename="x.csv", format="csv")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "unsupported_encoding"
    assert "line 2" in body["detail"]
    assert client.get("/v1/datasets", headers=auth).json()["data"] == []
    assert stored_files(settings) == []


def test_upload_answers_the_format_validation_will_settle_on(client, ctx, auth):
    preference = ('{"input": {"messages": [{"role": "user", "content": "hi"}]}, '
                  '"preferred_output": [{"role": "assistant", "content": "hello"}], '
                  '"non_preferred_output": [{"role": "assistant", "content": "no"}]}\n')
    created = upload(client, auth, preference * 3).json()
    assert created["format"] == "preference"
    run_tasks(ctx)
    settled = client.get(f"/v1/datasets/{created['id']}", headers=auth).json()
    assert settled["format"] == "preference"


def test_non_utf8_file_not_starting_as_json_is_checked_as_csv(client, auth):
    response = upload(client, auth, "[not json\ncaf\xe9\n".encode("latin-1"), filename="x.txt")
    assert response.status_code == 422
    assert response.json()["code"] == "unsupported_encoding"


def test_empty_file_is_422(client, auth):
    response = upload(client, auth, b"")
    problem(response, 422, "invalid_file")


def test_no_file_part_is_422(client, auth):
    response = client.post("/v1/datasets", headers=auth, data={"name": "x"},
                           files={"other": ("a.txt", b"abc")})
    problem(response, 422, "invalid_multipart")


def test_not_multipart_is_422(client, auth):
    response = client.post("/v1/datasets", headers=auth, json={"file": "x"})
    problem(response, 422, "invalid_multipart")


@pytest.mark.parametrize("settings_overrides", [{"max_upload_bytes": 1000}])
def test_oversize_upload_is_413_and_nothing_stored(client, auth, settings, settings_overrides):
    response = upload(client, auth, chat_lines(200))
    assert response.status_code == 413
    assert "1000" in response.json()["detail"]
    assert stored_files(settings) == []


@pytest.mark.smoke
def test_upload_idempotency_replays_and_refuses_other_file(client, auth):
    headers = {**auth, "Idempotency-Key": "up-1"}
    first = client.post("/v1/datasets", headers=headers, data={"name": "a"},
                        files={"file": ("a.jsonl", chat_lines(12).encode())})
    again = client.post("/v1/datasets", headers=headers, data={"name": "a"},
                        files={"file": ("a.jsonl", chat_lines(12).encode())})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = client.post("/v1/datasets", headers=headers, data={"name": "a"},
                        files={"file": ("a.jsonl", chat_lines(13).encode())})
    problem(other, 409, "idempotency_key_reused")
    assert len(client.get("/v1/datasets", headers=auth).json()["data"]) == 1


def test_upload_replayed_after_its_dataset_was_deleted_answers_as_the_first_time(client, auth):
    headers = {**auth, "Idempotency-Key": "up-deleted"}
    first = upload(client, headers, chat_lines(12))
    assert first.status_code == 201
    assert client.delete(f"/v1/datasets/{first.json()['id']}", headers=auth).status_code == 200
    again = upload(client, headers, chat_lines(12))
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


def test_content_streams_the_exact_bytes(client, ctx, auth):
    content = chat_lines(12)
    dataset = ready_dataset(client, ctx, auth, content)
    response = client.get(f"/v1/datasets/{dataset['id']}/content", headers=auth)
    assert response.content == content.encode()
    assert response.headers["content-type"].startswith("application/jsonl")


def test_unknown_column_in_template_is_422(client, ctx, auth, reflections):
    csv_ds = ready_dataset(client, ctx, auth, reflections.path)
    body = {**CONVERT, "user": "{Question} {Missing}"}
    response = client.post(f"/v1/datasets/{csv_ds['id']}/convert", headers=auth, json=body)
    assert "Missing" in problem(response, 422, "unknown_column")["detail"]
    assert len(client.get("/v1/datasets", headers=auth).json()["data"]) == 1


def test_ragged_csv_is_invalid(client, ctx, auth):
    dataset = ready_dataset(client, ctx, auth, b"a,b\n1,2\n3\n", filename="r.csv")
    assert dataset["status"] == "invalid"
    assert "Row 2" in dataset["error"]


def test_other_projects_dataset_is_404(client, ctx, auth):
    dataset = ready_dataset(client, ctx, auth, chat_lines(12))
    _, other = new_project_key(client, "other")
    for path in ("", "/content", "/report", "/rows"):
        response = client.get(f"/v1/datasets/{dataset['id']}{path}", headers=other)
        problem(response, 404, "dataset_not_found")
    assert client.delete(f"/v1/datasets/{dataset['id']}", headers=other).status_code == 404


def test_delete_is_idempotent(client, ctx, auth, settings):
    dataset = ready_dataset(client, ctx, auth, chat_lines(12))
    for _ in range(2):
        response = client.delete(f"/v1/datasets/{dataset['id']}", headers=auth)
        assert response.json() == {"id": dataset["id"], "object": "dataset", "deleted": True}
    assert client.get(f"/v1/datasets/{dataset['id']}", headers=auth).status_code == 404
    assert stored_files(settings) == []


def test_list_pages_newest_first(client, ctx, auth):
    ids = [upload(client, auth, chat_lines(10 + i)).json()["id"] for i in range(3)]
    page = client.get("/v1/datasets?limit=2", headers=auth).json()
    assert [d["id"] for d in page["data"]] == ids[::-1][:2]
    assert page["has_more"]
    rest = client.get(f"/v1/datasets?limit=2&after={page['last_id']}", headers=auth).json()
    assert [d["id"] for d in rest["data"]] == [ids[0]]
    assert not rest["has_more"]


def test_rows_preview_pages(client, ctx, auth):
    dataset = ready_dataset(client, ctx, auth, chat_lines(12))
    rows = client.get(f"/v1/datasets/{dataset['id']}/rows?offset=10&limit=5", headers=auth)
    data = rows.json()["data"]
    assert [r["row"] for r in data] == [11, 12]
    assert json.dumps(data[0]["data"]).count("Example number 10") == 1
