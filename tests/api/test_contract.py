"""The published OpenAPI document tells the truth: names, every error answer, every code."""

import importlib
import json
import pkgutil
import re
import subprocess
import sys

import service
from service import errors
from service.api.contract import ERROR_CODES
from service.errors import ServiceError
from tests.support.api import problem
from tests.support.env import ROOT

SPEC = json.loads((ROOT / "openapi" / "openapi.json").read_text())
OPENAI_COMPATIBLE = ("/v1/chat/completions", "/v1/embeddings", "/v1/models")


def operations():
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def all_subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found | {sub for child in found for sub in all_subclasses(child)}


def documented_codes() -> set[str]:
    table = SPEC["components"]["schemas"]["Problem"]["properties"]["code"]["description"]
    return set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))


def test_operation_ids_are_readable_and_unique():
    ids = [operation["operationId"] for _, _, operation in operations()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", op_id) for op_id in ids), ids
    assert {"uploadDataset", "createJob", "cancelJob", "pauseJob", "resumeJob", "listJobEvents",
            "createChatCompletion", "createEmbedding", "listModels"} <= set(ids)


def test_schema_names_carry_no_module_paths():
    names = SPEC["components"]["schemas"]
    assert not [name for name in names if "__" in name or name.startswith("Page_")]
    assert {"JobProgress", "EvaluationProgress", "JobList", "Problem", "OpenAIError"} <= set(names)
    assert "HTTPValidationError" not in names
    assert "ValidationError" not in names


def test_every_tag_is_described():
    described = {tag["name"] for tag in SPEC["tags"] if tag.get("description")}
    used = {tag for _, _, operation in operations() for tag in operation.get("tags", [])}
    assert used <= described


def test_every_error_answer_is_a_problem_or_openai_error():
    for path, method, operation in operations():
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        assert errors or path == "/healthz", (method, path)
        wanted = ({"application/json": "OpenAIError"} if path.startswith(OPENAI_COMPATIBLE)
                  else {"application/problem+json": "Problem"})
        for status, response in errors.items():
            refs = {media: body["schema"]["$ref"].rsplit("/", 1)[1]
                    for media, body in response["content"].items()}
            assert refs == wanted, (method, path, status)
        if "security" in operation:
            assert {"401", "429"} <= set(errors), (method, path)
        if "requestBody" in operation:
            assert {"400", "413"} <= set(errors), (method, path)
        if "{" in path:
            assert "404" in errors, (method, path)


# Subclasses that answer with their parent's code on purpose, and why.
SHARED_CODES = {
    "ModelDeleted": "to a client a deleted model is a missing one (OpenAI answers alike)",
}


def service_errors() -> list[type[ServiceError]]:
    """ServiceError and every subclass, once every service module is imported."""
    for module in pkgutil.walk_packages(service.__path__, "service."):
        importlib.import_module(module.name)
    return [ServiceError, *sorted(all_subclasses(ServiceError), key=lambda cls: cls.__name__)]


def test_every_error_class_lives_in_the_errors_module():
    elsewhere = [f"{cls.__module__}.{cls.__name__}" for cls in service_errors()
                 if cls.__module__ != "service.errors"]
    assert elsewhere == []


def test_each_error_code_is_unique_snake_case_and_in_the_contract():
    owners: dict[str, list[str]] = {}
    for cls in service_errors():
        if cls.__name__ not in SHARED_CODES:
            owners.setdefault(cls.code, []).append(cls.__name__)
    assert {code: names for code, names in owners.items() if len(names) > 1} == {}
    codes = {cls.code for cls in service_errors()}
    assert [code for code in codes if not re.fullmatch(r"[a-z]+(?:_[a-z]+)*", code)] == []
    assert sorted(codes - ERROR_CODES.keys()) == []
    for name in SHARED_CODES:
        shared = next(cls for cls in service_errors() if cls.__name__ == name)
        assert shared.code == shared.__mro__[1].code


def test_the_error_module_draws_its_tree_as_the_classes_inherit():
    drawn = {}
    parents: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        found = re.fullmatch(r"    ([│ ]   |[├└]── )*(\w+) \((\d{3}) (\w+)\)", line)
        if found is None:
            continue
        depth = (len(line) - len(line.lstrip(" │├└─")) - 4) // 4
        parents[depth:] = [found.group(2)]
        drawn[found.group(2)] = (parents[depth - 1] if depth else None,
                                 int(found.group(3)), found.group(4))
    actual = {cls.__name__: (cls.__base__.__name__ if cls is not ServiceError else None,
                             cls.status, cls.code) for cls in service_errors()}
    assert drawn == actual


def test_every_error_code_the_service_can_emit_is_documented():
    codes = {cls.code for cls in service_errors()}
    from service.api import problems
    codes |= set(problems.HTTP_CODES.values()) | set(problems.OPENAI_CODES.values())
    codes |= {"malformed_json", "validation_error", "internal_error", "not_ready", "http_error"}
    assert not codes - documented_codes()


def test_job_control_is_three_routes(client, auth):
    for action in ("cancel", "pause", "resume"):
        assert f"/v1/jobs/{{job_id}}/{action}" in SPEC["paths"]
    answer = client.post("/v1/jobs/job_x/explode", headers=auth)
    problem(answer, 404, "not_found")
    missing = client.post("/v1/jobs/job_x/pause", headers=auth)
    problem(missing, 404, "job_not_found")


def test_committed_spec_is_what_make_openapi_writes():
    makefile = (ROOT / "Makefile").read_text()
    assert "python -m devtools.openapi > openapi/openapi.json" in makefile
    fresh = subprocess.run([sys.executable, "-m", "devtools.openapi"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    committed = (ROOT / "openapi" / "openapi.json").read_text()
    assert fresh == committed, "openapi/openapi.json is stale: run `make openapi`"


def test_beta_on_a_supervised_job_is_a_validation_error(client, auth):
    answer = client.post("/v1/jobs", headers=auth, json={
        "model": "gpt-4o-mini-2024-07-18", "training_dataset": "ds_x",
        "hyperparameters": {"beta": "auto"}})
    problem(answer, 422, "validation_error")
    assert [e["field"] for e in answer.json()["errors"]] == ["body.hyperparameters.beta"]


def test_spec_is_valid_openapi_3_1():
    from openapi_spec_validator import validate

    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)
