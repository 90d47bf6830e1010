"""Print the OpenAPI document the app serves (make openapi writes it to openapi/openapi.json)."""

import json
import os

os.environ.setdefault("FTM_ADMIN_KEY", "openapi-generation-only")

from service.api.app import create_app


def render() -> str:
    return json.dumps(create_app().openapi(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
