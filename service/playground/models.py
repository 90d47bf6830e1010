from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema


class PassThrough(BaseModel):
    """A body the provider gets as sent: the fields named here are checked, any other
    (`temperature`, `tools`, parameters newer than this service…) passes through unchecked."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)

    def payload(self) -> dict[str, Any]:
        """The body for the provider: what the client sent, nothing added."""
        return self.model_dump(mode="json", exclude_unset=True)


class ChatMessageIn(BaseModel):
    """One message of a conversation; its other fields (name, tool_calls…) pass unchecked."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[Any] | None = None


class ChatCompletionRequest(PassThrough):
    """OpenAI's chat completion body."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "model": "ft:gpt-4o-mini-2024-07-18:org:reflection:AbC123xy",
        "messages": [{"role": "system", "content": "Classify the reflection."},
                     {"role": "user", "content": "I learned to question my first answer."}],
        "temperature": 0}]})

    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: StrictBool | None = None
    n: int | None = Field(None, ge=1, le=128)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)


class EmbeddingRequest(PassThrough):
    """OpenAI's embeddings body; `encoding_format` (the SDK sends base64) passes through."""

    # Checked by the provider, as OpenAI states it: a non-empty string, or 1-2048 non-empty
    # strings or token arrays.
    input: Annotated[str | list[Any], WithJsonSchema({"title": "Input", "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "maxItems": 2048,
         "items": {"type": "string", "minLength": 1}},
        {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}},
        {"type": "array", "minItems": 1, "maxItems": 2048,
         "items": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}}},
    ]})]


class Open(BaseModel):
    """An OpenAI answer: the fields named here are always there; any other passes unchanged."""

    model_config = ConfigDict(extra="allow")


class ChatMessage(Open):
    role: str
    content: str | None = None


class ChatChoice(Open):
    index: int
    message: ChatMessage
    finish_reason: str | None = None


class CompletionUsage(Open):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(Open):
    """OpenAI's chat completion, as the provider answered it."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: CompletionUsage | None = None


class Embedding(Open):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(description="Floats, or base64 with "
                                                     "`encoding_format: base64`.")


class EmbeddingUsage(Open):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(Open):
    """OpenAI's embeddings answer, as the provider answered it."""

    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage | None = None
