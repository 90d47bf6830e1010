"""Bodies built to hurt: too big, too deep, not UTF-8, not JSON; query strings out of range."""

import json

import pytest

from tests.support.api import problem

JOBS = "/v1/jobs"


def test_fifty_megabyte_json_body_is_413(client, auth, unharmed):
    body = b'{"model": "' + b"x" * (50 * 2**20) + b'"}'
    response = client.post(JOBS, headers={**auth, "Content-Type": "application/json"},
                           content=body)
    problem(response, 413, "payload_too_large")
    unharmed()


def test_fifty_megabyte_chunked_json_body_is_413(client, auth, unharmed):
    def chunks():
        yield b'{"model": "'
        for _ in range(50):
            yield b"x" * 2**20
        yield b'"}'

    response = client.post(JOBS, headers={**auth, "Content-Type": "application/json"},
                           content=chunks())
    problem(response, 413, "payload_too_large")
    unharmed()


@pytest.mark.parametrize("opening, closing", [("[", "]"), ('{"a":', "}")])
def test_json_nested_a_hundred_thousand_levels_is_400(client, auth, unharmed, opening, closing):
    body = opening * 100_000 + "1" + closing * 100_000
    response = client.post(JOBS, headers={**auth, "Content-Type": "application/json"},
                           content=body)
    problem(response, 400, "malformed_json")
    unharmed()


def test_deep_nesting_inside_a_valid_field_is_refused(client, auth, unharmed):
    metadata = "[" * 100_000 + "]" * 100_000
    body = '{"model": "gpt-4o-mini-2024-07-18", "training_dataset": "ds_x", "metadata": ' + \
        metadata + "}"
    response = client.post(JOBS, headers={**auth, "Content-Type": "application/json"},
                           content=body)
    assert response.status_code in (400, 422)
    problem(response, response.status_code)
    unharmed()


@pytest.mark.parametrize("raw", [
    pytest.param('{"name": "caf\xe9"}'.encode("latin-1"), id="latin-1"),
    pytest.param(b'{"name": "\xff\xfe\x00"}', id="invalid-bytes"),
    pytest.param('{"name": "x"}'.encode("utf-16"), id="utf-16"),
    pytest.param(b'{"name": "\xed\xa0\x80"}', id="surrogate"),
])
def test_body_that_is_not_utf8_is_400(client, admin_headers, raw, redis_client):
    before = set(redis_client.scan_iter("ftm:project:*"))
    response = client.post("/v1/admin/projects", content=raw,
                           headers={**admin_headers, "Content-Type": "application/json"})
    problem(response, 400, "malformed_json")
    assert set(redis_client.scan_iter("ftm:project:*")) == before


def test_body_that_is_not_json_at_all_is_400(client, auth, unharmed):
    response = client.post(JOBS, headers={**auth, "Content-Type": "application/json"},
                           content=b"\x00\x01\x02 not json")
    problem(response, 400, "malformed_json")
    unharmed()


@pytest.mark.parametrize("limit", ["-1", "0", "101", "1000000000000000000000000", "1e3", "NaN",
                                   "%00"])
@pytest.mark.parametrize("route", ["/v1/datasets", "/v1/jobs", "/v1/evaluations",
                                   "/v1/webhooks", "/v1/pipelines"])
def test_limit_out_of_range_is_422_naming_it(client, auth, route, limit):
    response = client.get(f"{route}?limit={limit}", headers=auth)
    body = problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "query.limit"


def test_huge_query_string_is_414(client, auth, unharmed):
    response = client.get("/v1/datasets?after=" + "a" * 60_000, headers=auth)
    problem(response, 414, "uri_too_long")
    unharmed()


def test_json_with_a_huge_number_is_refused(client, auth, unharmed):
    body = json.dumps({"model": "gpt-4o-mini-2024-07-18", "training_dataset": "ds_x"})
    body = body[:-1] + ', "seed": ' + "9" * 100_000 + "}"
    response = client.post(JOBS, headers={**auth, "Content-Type": "application/json"},
                           content=body)
    assert response.status_code in (400, 422)
    problem(response, response.status_code)
    unharmed()
