"""Embeddings: deterministic unit vectors of each model's size, float and base64."""

import base64

import numpy as np
import openai
import pytest
import tiktoken
from openai import OpenAI


@pytest.mark.parametrize(("model", "size"), [("text-embedding-3-small", 1536),
                                             ("text-embedding-3-large", 3072),
                                             ("text-embedding-ada-002", 1536)])
def test_vectors_have_the_models_dimension(client: OpenAI, model: str, size: int) -> None:
    response = client.embeddings.create(model=model, input=["hello world", "goodbye"])
    assert [len(d.embedding) for d in response.data] == [size, size]
    assert [d.index for d in response.data] == [0, 1]
    assert response.model == model
    enc = tiktoken.get_encoding("cl100k_base")
    expected = len(enc.encode("hello world")) + len(enc.encode("goodbye"))
    assert response.usage.prompt_tokens == response.usage.total_tokens == expected
    assert np.linalg.norm(response.data[0].embedding) == pytest.approx(1.0, abs=1e-4)


def test_vectors_are_deterministic_per_text(client: OpenAI) -> None:
    first = client.embeddings.create(model="text-embedding-3-small", input="same text")
    again = client.embeddings.create(model="text-embedding-3-small", input="same text")
    other = client.embeddings.create(model="text-embedding-3-small", input="other text")
    assert first.data[0].embedding == again.data[0].embedding != other.data[0].embedding


def test_dimensions_and_float_format(client: OpenAI) -> None:
    response = client.embeddings.create(model="text-embedding-3-large", input="x",
                                        dimensions=256, encoding_format="float")
    assert len(response.data[0].embedding) == 256
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="text-embedding-ada-002", input="x", dimensions=256)
    assert caught.value.param == "dimensions"
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="text-embedding-3-small", input="x", dimensions=5000)
    assert caught.value.param == "dimensions"


def test_base64_matches_float(client: OpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="abc", encoding_format="base64")
    encoded = raw.http_response.json()["data"][0]["embedding"]
    assert isinstance(encoded, str)
    decoded = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
    floats = client.embeddings.create(model="text-embedding-3-small", input="abc",
                                      encoding_format="float").data[0].embedding
    assert np.allclose(decoded, floats)


def test_token_arrays_and_bad_inputs(client: OpenAI) -> None:
    response = client.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3]])
    assert response.usage.prompt_tokens == 3
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="text-embedding-3-small", input="")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="gpt-4o-mini", input="x")
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-9", input="x")
