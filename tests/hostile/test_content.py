"""Hostile content: template tricks, a 10 MB line, formulas in CSV reports."""

import json

import pytest

from service.spreadsheet import safe_cell
from tests.factories import ready_dataset, run_tasks, upload
from tests.support.api import problem
from tests.support.uploads import stored_files

TABLE = "Question,Answer\n" + "".join(f"q{i},a{i}\n" for i in range(12))


@pytest.mark.parametrize("template, code", [
    ("{0.__class__}", "unknown_column"), ("{Question.__class__}", "unknown_column"),
    ("{Question.__class__.__mro__[1].__subclasses__}", "unknown_column"),
    ("{Question[0]}", "unknown_column"), ("{Question!r}", "unknown_column"),
    ("{x:>1000000000}", "unknown_column"), ("{Question:>1000000000}", "unknown_column"),
    ("{Question:{Question}}", None), ("{", None), ("}", None), ("{{{", None),
    ("{" * 100_001, None), ("{Question" * 50_000, None),
])
def test_template_tricks_are_422_and_create_nothing(client, ctx, auth, settings, redis_client,
                                                    template, code):
    parent = ready_dataset(client, ctx, auth, TABLE, filename="t.csv")
    files = stored_files(settings)
    records = set(redis_client.scan_iter("ftm:dataset:*"))
    body = {"target": "chat", "user": template, "assistant": "{Answer}"}
    response = client.post(f"/v1/datasets/{parent['id']}/convert", headers=auth, json=body)
    assert response.status_code == 422, response.text[:300]
    problem(response, 422, code)
    assert stored_files(settings) == files
    assert set(redis_client.scan_iter("ftm:dataset:*")) == records
    assert len(client.get("/v1/datasets", headers=auth).json()["data"]) == 1


def test_ten_megabyte_single_line_is_invalid_naming_it_and_previews_refuse_it(client, ctx,
                                                                              auth):
    line = json.dumps({"messages": [{"role": "user", "content": "x" * (10 * 2**20)},
                                    {"role": "assistant", "content": "y"}]})
    response = upload(client, auth, line + "\n")
    assert response.status_code == 201, response.text[:300]
    dataset_id = response.json()["id"]
    run_tasks(ctx)
    dataset = client.get(f"/v1/datasets/{dataset_id}", headers=auth).json()
    assert dataset["status"] == "invalid"
    rows = client.get(f"/v1/datasets/{dataset_id}/rows", headers=auth)
    assert rows.status_code < 500, rows.text[:300]
    if rows.status_code >= 400:
        problem(rows, rows.status_code)
    assert client.get("/healthz").status_code == 200


FORMULAS = ["=1+1", "+SUM(A1:A9)", "-2+3", "@cmd", "=HYPERLINK(\"http://x\")", "\t=1"]


@pytest.mark.parametrize("value, shown", [
    ("=1+1", "'=1+1"), ("+x", "'+x"), ("-x", "'-x"), ("@x", "'@x"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("plain", "plain"), ("", ""), (-1.5, -1.5), (3, 3)])
def test_formula_cells_are_escaped_and_numbers_kept(value, shown):
    assert safe_cell(value) == shown
