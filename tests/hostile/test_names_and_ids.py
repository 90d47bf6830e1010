"""File names, dataset names and ids chosen to break paths, headers, keys and logs."""

import pytest

from tests.factories import chat_lines, run_tasks, upload
from tests.support.api import problem
from tests.support.uploads import multipart, post_raw, stored_files

CONTENT = chat_lines(5).encode()


@pytest.mark.parametrize("filename", [
    "../../../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow", "a/../../b.jsonl",
    "....//....//x.jsonl", "%2e%2e%2fx.jsonl", "con.jsonl", ".",
])
def test_path_traversal_in_the_file_name_stays_inside_the_data_dir(client, ctx, auth, settings,
                                                                   filename, tmp_path):
    response = upload(client, auth, CONTENT, filename=filename)
    assert response.status_code in (201, 422), response.text
    root = settings.data_dir.resolve()
    assert all(path.resolve().is_relative_to(root) for path in stored_files(settings))
    assert not (tmp_path / "etc").exists()
    assert not (root.parent / "b.jsonl").exists()
    if response.status_code == 201:
        dataset = response.json()
        run_tasks(ctx)
        content = client.get(f"/v1/datasets/{dataset['id']}/content", headers=auth)
        assert content.status_code == 200
        assert content.content == CONTENT
        disposition = content.headers["content-disposition"]
        assert "/" not in disposition
        assert "\\" not in disposition
        assert ".." not in disposition
        assert dataset["filename"] not in ("", ".", "..")
        assert "/" not in dataset["filename"]
    else:
        problem(response, 422)


@pytest.mark.parametrize("filename", ["evil\x00.jsonl", "x.jsonl\x00.exe", "\x00"])
def test_nul_byte_in_the_file_name_is_refused(client, auth, settings, filename):
    response = post_raw(client, auth, multipart(CONTENT, filename=filename))
    problem(response, 422, "invalid_name")
    assert stored_files(settings) == []


@pytest.mark.parametrize("name", ["a\r\nSet-Cookie: x=1", "a\nX-Injected: 1", "\r\n\r\nbody"])
def test_crlf_in_names_never_reaches_a_header_or_a_log_line(client, ctx, auth, capsys, name):
    response = upload(client, auth, CONTENT, filename=name + ".jsonl", name=name)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        problem(response, 422)
        return
    dataset = response.json()
    run_tasks(ctx)
    content = client.get(f"/v1/datasets/{dataset['id']}/content", headers=auth)
    assert content.status_code == 200
    assert "set-cookie" not in content.headers
    assert "x-injected" not in content.headers
    for value in content.headers.values():
        assert "\r" not in value
        assert "\n" not in value
    for line in capsys.readouterr().out.splitlines():
        assert not line.startswith(("Set-Cookie", "X-Injected"))


WEIRD_IDS = ["*", "%3F", "{}", "%7B0%7D", "ds_*", "..", "%2e%2e", "a" * 10_000, "%00",
             "ds_" + "%E2%80%AE", "job_%0D%0Ax"]


@pytest.mark.parametrize("weird", WEIRD_IDS, ids=lambda w: w[:12])
@pytest.mark.parametrize("route, code", [
    ("/v1/datasets/{}", "dataset_not_found"), ("/v1/datasets/{}/content", "dataset_not_found"),
    ("/v1/datasets/{}/rows", "dataset_not_found"), ("/v1/jobs/{}", "job_not_found"),
    ("/v1/jobs/{}/events", "job_not_found"), ("/v1/evaluations/{}", "evaluation_not_found"),
    ("/v1/webhooks/{}/deliveries", "webhook_not_found"),
    ("/v1/pipelines/{}", "pipeline_not_found"),
])
def test_weird_ids_are_404_of_their_kind(client, auth, weird, route, code, unharmed):
    response = client.get(route.format(weird), headers=auth)
    if len(weird) > 8192:
        problem(response, 414, "uri_too_long")
    elif response.status_code == 404 and response.json().get("code") == "not_found":
        assert ".." in weird or "%2e" in weird  # the path no longer names the route
    else:
        problem(response, 404, code)
    unharmed()


@pytest.mark.parametrize("after", ["*", "{}", "?", "a" * 5000, "ds_\x00"])
def test_weird_cursor_is_a_4xx(client, auth, after):
    response = client.get("/v1/datasets", params={"after": after}, headers=auth)
    assert 400 <= response.status_code < 500
    problem(response, response.status_code)
