"""Every CSV report the service writes escapes cells a spreadsheet would run as formulas."""

import csv
import io
import json

import pytest

from tests.factories import ready_dataset
from tests.support.env import MODEL, emulator_settings
from tests.support.evaluations import create, finish

FORMULAS = ["=1+1", "+SUM(A1:A9)", "-2+3", "@cmd", "=HYPERLINK(\"http://x\")", "\t=1"]


@pytest.fixture
def settings_overrides(emulator) -> dict[str, object]:
    return emulator_settings(emulator, openai_requests_per_minute=60_000,
                             rate_limit_per_minute=100_000)


def formula_chat(n: int) -> str:
    lines = []
    for i in range(n):
        label = FORMULAS[i % len(FORMULAS)]
        lines.append(json.dumps({"messages": [
            {"role": "user", "content": f"=cmd|' /C calc'!A{i}"},
            {"role": "assistant", "content": label}]}))
    return "\n".join(lines) + "\n"


def test_predictions_csv_escapes_every_formula_cell(client, ctx, auth):
    dataset = ready_dataset(client, ctx, auth, formula_chat(12))
    assert dataset["status"] == "ready", dataset
    created = create(client, auth, dataset=dataset["id"], models=[MODEL], max_examples=12,
                     max_tokens=5)
    assert finish(client, ctx, auth, created["id"])["status"] == "succeeded"
    response = client.get(f"/v1/evaluations/{created['id']}/predictions?format=csv",
                          headers=auth)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    header, body = rows[0], rows[1:]
    assert len(body) == 12
    expected = [row[header.index("expected")] for row in body]
    assert {f"'{f}" for f in FORMULAS} <= set(expected)
    for row in body:
        for cell in row:
            is_number = cell.lstrip("-").replace(".", "", 1).isdigit()
            assert is_number or not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
