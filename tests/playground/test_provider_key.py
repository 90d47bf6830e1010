"""The provider's key never reaches a client, even when the provider quotes it back."""

import pytest

from tests.support.env import ADMIN_KEY
from tests.support.playground import BASE

# The emulator refuses keys not starting with sk- and quotes them masked: "not******6789".
PROVIDER_KEY = "not-an-sk-key-but-secret-0123456789"


@pytest.fixture
def settings_overrides(emulator):
    return {"openai_base_url": emulator, "openai_api_key": PROVIDER_KEY,
            "openai_retry_base_seconds": 0.01}


def test_refused_provider_key_is_never_shown(caller):
    messages = [{"role": "user", "content": "hi"}]
    answers = [caller.http.post("/v1/chat/completions", json={"model": BASE, "messages": messages}),
               caller.http.post("/v1/chat/completions", json={"model": BASE, "messages": messages,
                                                              "stream": True}),
               caller.http.post("/v1/embeddings", json={"model": "text-embedding-3-small",
                                                        "input": "a"})]
    for answer in answers:
        assert answer.status_code == 502
        assert answer.json()["error"]["code"] == "provider_auth_failed"
        shown = answer.text + str(answer.headers)
        assert PROVIDER_KEY not in shown
        assert PROVIDER_KEY[-4:] not in shown
        assert ADMIN_KEY not in shown
        assert caller.key not in shown
