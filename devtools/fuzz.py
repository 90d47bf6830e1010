"""`make fuzz`: schemathesis over every operation of the committed spec against a live stack.

All phases (examples, coverage, fuzzing, stateful through the spec's links), bounded by
FTM_FUZZ_SECONDS. Real resources are made first (devtools.fuzz_data) and given as parameter
values, so operations on an id reach their logic. Fails on any 5xx, any answer that does not
conform to the spec, schema-valid data refused, and on every schemathesis warning (validation
stricter than the schema, operations that only ever answered 404 or 401/403). The per-key rate
limit is raised, not removed.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools.fuzz_data import BASE_MODEL, EMBEDDING_MODEL, Resources, chat_jsonl, make
from devtools.run import ROOT
from devtools.stack import Stack, live_stack

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "positive_data_acceptance")
RATE_LIMIT_PER_MINUTE = "100000"
# The validation backlog is raised with the rate limit: it is a limit too (429), which uploads
# at a fuzzer's pace would hit instead of their logic. Jobs move along quickly, but each sweep is
# a forked task: one a second would starve the validations queued behind them on a busy machine.
STACK_SETTINGS = {"rate_limit_per_minute": RATE_LIMIT_PER_MINUTE,
                  "max_datasets_awaiting_validation": "100000", "sync_sweep_seconds": "3",
                  "sync_interval_running_seconds": "0.5", "sync_interval_queued_seconds": "0.5"}


# Rules a schema cannot state, where valid-looking data is refused by design (422), so the check
# that positive data is accepted is off there, and only there: an upload's file must be UTF-8 text
# that parses in its format (the schema can only say "binary"); a split's fractions must add up
# to 1 (in a pipeline too); a CSV converts only with templates naming its columns. Their schema
# examples are valid, so every phase still sends data they accept.
# And one not about data: in its coverage phase schemathesis labels "positive" a default case
# whose Last-Event-ID header it drew as a negative value (0, not an event id), which the stream
# refuses (422 invalid_cursor) as it should.
DATA_RULES = (("POST", "/v1/datasets"), ("POST", "/v1/datasets/{dataset_id}/split"),
              ("POST", "/v1/pipelines"), ("POST", "/v1/datasets/{dataset_id}/convert"),
              ("GET", "/v1/jobs/{job_id}/events/stream"))
CONFIG = """
headers = {{ Authorization = "Bearer {key}" }}

[warnings]
fail-on = true

[checks]
enabled = false
{checks}

# Ids of the resources made before the run (devtools.fuzz_data), so operations on an id reach
# their logic rather than answering 404 (the 404s are covered by the route tests).
[parameters]
"path.dataset_id" = "{r.dataset}"
"path.job_id" = "{r.job}"
"path.evaluation_id" = "{r.evaluation}"
"path.pipeline_id" = "{r.pipeline}"
"path.webhook_id" = "{r.webhook}"
"path.model" = "{r.model}"
"path.key_id" = "{r.spare_key}"

[[operations]]
include-path-regex = "^/v1/admin/"
headers = {{ Authorization = "Bearer {admin_key}" }}

[[operations]]
include-path-regex = "/events/stream$"
max-stream-events = 20

# The schema can only call the file "binary"; schemathesis sends images and random bytes there,
# which the API refuses (422, not UTF-8 text). A valid JSONL file is given; name and format vary.
[[operations]]
include-operation-id = "uploadDataset"
parameters = {{ "body.file" = "{upload}" }}

# A CSV converts only with templates (and value maps) naming its own columns: a rule of the
# file, not of the schema. Overriding the templates would clash with the schema's own rule on
# which fields go with which target, so the operation gets a real CSV, and its refusals of
# templates naming other columns (422 unknown_column) are not counted as schema mismatches.
[[operations]]
include-operation-id = "convertDataset"
parameters = {{ "path.dataset_id" = "{r.csv_dataset}" }}
warnings = {{ display = ["missing_auth", "rate_limited"] }}

# Fractions must add up to 1, which no schema can say: valid ones are given.
[[operations]]
include-operation-id = "splitDataset"
parameters = {{ "body.fractions" = {{ train = 0.8, validation = 0.2 }} }}

[[operations]]
include-operation-id = "deleteDataset"
parameters = {{ "path.dataset_id" = "{r.spare_dataset}" }}

[[operations]]
include-operation-id-regex = "^(cancelJob|pauseJob|resumeJob)$"
parameters = {{ "path.job_id" = "{r.running_job}" }}

[[operations]]
include-operation-id = "deleteModel"
parameters = {{ "path.model" = "{r.spare_model}" }}

# A model the project may tune: a random name is only ever 404 model_not_found.
[[operations]]
include-operation-id = "createJob"
parameters = {{ "body.model" = "{base_model}", "body.training_dataset" = "{r.dataset}", \
"body.validation_dataset" = "{r.dataset}" }}

[[operations]]
include-operation-id = "createEvaluation"
parameters = {{ "body.dataset" = "{r.dataset}" }}

# A cursor of this evaluation's own predictions (the schema can only say <model>:<index>).
[[operations]]
include-operation-id = "listEvaluationPredictions"
parameters = {{ "query.after" = "{r.model}:0" }}

[[operations]]
include-operation-id = "createPipeline"
parameters = {{ "body.dataset" = "{r.dataset}", "body.job.model" = "{base_model}", \
"body.split.fractions" = {{ train = 0.8, test = 0.2 }} }}

[[operations]]
include-operation-id = "importJob"
parameters = {{ "body.provider_job_id" = "{r.provider_job}" }}

[[operations]]
include-operation-id = "createChatCompletion"
parameters = {{ "body.model" = "{r.model}" }}

[[operations]]
include-operation-id = "createEmbedding"
parameters = {{ "body.model" = "{embedding_model}" }}

# OpenAI's webhooks reach a deployment only when it has their secret (OPENAI_WEBHOOK_SECRET);
# without one, as here, the route answers 404 webhook_not_configured, and with one it needs
# OpenAI's signature, which a fuzzer cannot make. Its answers are still checked against the spec.
[[operations]]
include-operation-id = "receiveOpenaiWebhook"
warnings = {{ display = ["missing_auth", "rate_limited"] }}
"""
RULE = """
[[operations]]
include-path = "{path}"
include-method = "{method}"
checks = {{ positive_data_acceptance = {{ enabled = false }} }}
"""


def config(stack: Stack, resources: Resources) -> str:
    rules = "".join(RULE.format(method=method, path=path) for method, path in DATA_RULES)
    checks = "\n".join(f"{name}.enabled = true" for name in CHECKS)
    return CONFIG.format(key=stack.key, admin_key=stack.admin_key, checks=checks, r=resources,
                         base_model=BASE_MODEL, embedding_model=EMBEDDING_MODEL,
                         upload=json.dumps(chat_jsonl(3))[1:-1]) + rules


def command(base: str, config_file: Path, seconds: str, report: Path) -> list[str]:
    return [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config_file), "run",
            str(ROOT / "openapi" / "openapi.json"), "--url", base,
            "--phases", "examples,coverage,fuzzing,stateful",
            "--max-time", seconds, "--workers", "1", "--request-timeout", "30",
            "--suppress-health-check", "all", "--seed", os.environ.get("FTM_FUZZ_SEED", "1"),
            "--max-examples", os.environ.get("FTM_FUZZ_EXAMPLES", "30"),
            "--report", "junit", "--report-junit-path", str(report)]


def main() -> int:
    seconds = os.environ.get("FTM_FUZZ_SECONDS", "150")
    with tempfile.TemporaryDirectory(prefix="ftm-fuzz-") as folder:
        return run(Path(folder), seconds)


def run(folder: Path, seconds: str) -> int:
    with live_stack(folder, **STACK_SETTINGS) as stack:
        config_file = folder / "schemathesis.toml"
        config_file.write_text(config(stack, make(stack)))
        # Run in folder: schemathesis keeps its cache of found failures where it runs.
        done = subprocess.run(command(stack.base, config_file, seconds, folder / "junit.xml"),
                              cwd=folder, check=False)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
