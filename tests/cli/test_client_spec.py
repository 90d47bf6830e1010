"""The ftm client against the committed OpenAPI document: every route it calls exists there
(matched on method and path), with the path, query, header and body fields it sends."""

import json
import re
from typing import Any

import pytest

from ftm.client import ROUTES, Client, Route
from tests.support.env import ROOT

SPEC = json.loads((ROOT / "openapi" / "openapi.json").read_text())
PARAM = re.compile(r"^\{[^}]+\}$")


def operation_for(route: Route) -> tuple[str, dict[str, Any]]:
    """The spec's operation for the route: its exact path, else a template that matches it
    (`/v1/jobs/{job_id}/{action}` matches `/v1/jobs/{job_id}/cancel`)."""
    method = route.method.lower()
    if method in SPEC["paths"].get(route.path, {}):
        return route.path, SPEC["paths"][route.path][method]
    wanted = route.path.split("/")
    for path, operations in SPEC["paths"].items():
        parts = path.split("/")
        if method in operations and len(parts) == len(wanted) and all(
                a == b or PARAM.match(a) for a, b in zip(parts, wanted, strict=True)):
            return path, operations[method]
    raise AssertionError(f"{route.method} {route.path} is not in openapi/openapi.json")


def parameters(operation: dict[str, Any], where: str) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == where}


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def body_schema(operation: dict[str, Any], media: str) -> dict[str, Any]:
    content = operation.get("requestBody", {}).get("content", {})
    assert media in content, f"the spec's body is {list(content)}, the client sends {media}"
    return resolve(content[media]["schema"])


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_route_is_in_the_spec_with_what_the_client_sends(name: str) -> None:
    route = ROUTES[name]
    path, operation = operation_for(route)
    sent_path = set(re.findall(r"\{([^}]+)\}", route.path))
    assert sent_path <= parameters(operation, "path"), f"{path}: path parameters"
    assert {q.lower() for q in route.query} <= parameters(operation, "query"), f"{path}: query"
    if route.body:
        schema = body_schema(operation, "application/json")
        if schema.get("additionalProperties") is not True:
            assert set(route.body) <= set(schema.get("properties", {})), f"{path}: body fields"
    if route.form:
        schema = body_schema(operation, "multipart/form-data")
        assert set(route.form) <= set(schema["properties"]), f"{path}: form fields"
    if not (route.body or route.form):
        assert "requestBody" not in operation or not operation["requestBody"].get("required")


def test_the_headers_the_client_sends_are_documented() -> None:
    documented = any("idempotency-key" in parameters(op, "header")
                     for ops in SPEC["paths"].values() for op in ops.values())
    assert documented, "the committed spec documents no Idempotency-Key header"
    for name, route in ROUTES.items():
        _, operation = operation_for(route)
        sent = {h.lower() for h in route.headers}
        assert sent <= parameters(operation, "header"), f"{name}: headers"


def test_the_client_sends_nothing_its_routes_do_not_declare() -> None:
    client = Client("http://127.0.0.1:9", "ftm_key")
    with pytest.raises(ValueError, match="does not take"):
        client.build("report_dataset", path={"dataset_id": "ds_1"}, query={"limit": 5})
    with pytest.raises(ValueError, match="does not take"):
        client.build("create_job", json={"model": "m", "training_file": "f"})
    request = client.build("report_dataset", path={"dataset_id": "ds_1"},
                           query={"model": "gpt-4o-mini"})
    assert (request.method, request.url.path, dict(request.url.params)) == (
        "GET", "/v1/datasets/ds_1/report", {"model": "gpt-4o-mini"})
    model = client.build("delete_model", path={"model": "ft:gpt-4o-mini:org:x:1/../a"})
    assert model.url.raw_path.decode() == "/v1/models/ft:gpt-4o-mini:org:x:1%2F..%2Fa"
    assert request.headers["authorization"] == "Bearer ftm_key"
