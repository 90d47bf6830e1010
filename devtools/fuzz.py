"""`make fuzz`: schemathesis over every operation of the committed spec against a live stack.

All phases (examples, coverage, fuzzing, stateful through the spec's links), bounded by
FTM_FUZZ_SECONDS. Fails on any 5xx, any answer that does not conform to the spec, and on
validation stricter than the schema. The per-key rate limit is raised, not removed.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools.run import ROOT
from devtools.stack import Stack, live_stack

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "positive_data_acceptance")
RATE_LIMIT_PER_MINUTE = "100000"


# Rules a schema cannot state, so valid-looking data is refused there by design: an upload's
# file must parse in its format; a split's fractions must add up to 1 (in a pipeline too); a
# CSV has no training report and converts only with templates naming its columns.
DATA_RULES = (("POST", "/v1/datasets"), ("POST", "/v1/datasets/{dataset_id}/split"),
              ("POST", "/v1/pipelines"), ("POST", "/v1/datasets/{dataset_id}/convert"),
              ("GET", "/v1/datasets/{dataset_id}/report"))
CONFIG = """
headers = {{ Authorization = "Bearer {key}" }}

[warnings]
fail-on = ["validation_mismatch"]

[checks]
enabled = false
{checks}

[[operations]]
include-path-regex = "^/v1/admin/"
headers = {{ Authorization = "Bearer {admin_key}" }}

[[operations]]
include-path-regex = "/events/stream$"
max-stream-events = 20
"""
RULE = """
[[operations]]
include-path = "{path}"
include-method = "{method}"
checks = {{ positive_data_acceptance = {{ enabled = false }} }}
warnings = {{ fail-on = [] }}
"""


def config(stack: Stack) -> str:
    rules = "".join(RULE.format(method=method, path=path) for method, path in DATA_RULES)
    checks = "\n".join(f"{name}.enabled = true" for name in CHECKS)
    return CONFIG.format(key=stack.key, admin_key=stack.admin_key, checks=checks) + rules


def command(base: str, config_file: Path, seconds: str, report: Path) -> list[str]:
    return [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config_file), "run",
            str(ROOT / "openapi" / "openapi.json"), "--url", base,
            "--phases", "examples,coverage,fuzzing,stateful",
            "--max-time", seconds, "--workers", "1", "--request-timeout", "30",
            "--suppress-health-check", "all", "--seed", os.environ.get("FTM_FUZZ_SEED", "1"),
            "--max-examples", os.environ.get("FTM_FUZZ_EXAMPLES", "30"),
            "--report", "junit", "--report-junit-path", str(report)]


def main() -> int:
    seconds = os.environ.get("FTM_FUZZ_SECONDS", "180")
    with tempfile.TemporaryDirectory(prefix="ftm-fuzz-") as folder:
        return run(Path(folder), seconds)


def run(folder: Path, seconds: str) -> int:
    with live_stack(folder, rate_limit_per_minute=RATE_LIMIT_PER_MINUTE, sync_sweep_seconds="1",
                    sync_interval_running_seconds="0.5",
                    sync_interval_queued_seconds="0.5") as stack:
        config_file = folder / "schemathesis.toml"
        config_file.write_text(config(stack))
        # Run in folder: schemathesis keeps its cache of found failures where it runs.
        done = subprocess.run(command(stack.base, config_file, seconds, folder / "junit.xml"),
                              cwd=folder, check=False)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
