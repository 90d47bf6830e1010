"""Callers of the service's OpenAI-compatible routes on a live server: the real openai SDK."""

from dataclasses import dataclass

import httpx
import openai

from tests.support.api import new_project_key
from tests.support.env import MODEL

BASE = MODEL


# Several words each, so a streamed answer comes in several chunks.
ANSWERS = ("The sentiment is clearly positive", "The sentiment is clearly negative",
           "Neither good nor bad, so neutral")


@dataclass(frozen=True)
class Caller:
    project_id: str
    key: str
    http: httpx.Client  # the live service, authenticated with key


def new_caller(live: str, name: str) -> Caller:
    with httpx.Client(base_url=live) as admin:
        project_id, headers = new_project_key(admin, name)  # type: ignore[arg-type]
    key = headers["Authorization"].removeprefix("Bearer ")
    return Caller(project_id, key, httpx.Client(base_url=live, headers=headers, timeout=30))


# Row 3 of the training data, as it was trained: the model answers ANSWERS[0].
MESSAGES = [{"role": "system", "content": "Classify."},
            {"role": "user", "content": f"Example number 3 is {ANSWERS[0].lower()}"}]


def sdk(live, caller) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live}/v1", api_key=caller.key, max_retries=0)
