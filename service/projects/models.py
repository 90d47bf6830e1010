from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from service.names import Name
from service.store.records import Record


class Project(Record):
    kind: ClassVar[str] = "project"
    object: Literal["project"] = "project"
    name: str
    budget_usd: float | None = None


class ApiKey(Record):
    kind: ClassVar[str] = "key"
    internal: ClassVar[frozenset[str]] = frozenset({"key_hash"})
    object: Literal["api_key"] = "api_key"
    project_id: str
    name: str | None = None
    redacted: str
    key_hash: str
    revoked: bool = False


class ApiKeyCreated(BaseModel):
    """The one answer that shows the key itself."""

    id: str
    object: Literal["api_key"] = "api_key"
    project_id: str
    name: str | None
    redacted: str
    key: str
    created_at: int


class ProjectCreate(BaseModel):
    model_config = {"extra": "forbid"}
    name: Name = Field(min_length=1, max_length=128)
    budget_usd: float | None = Field(None, ge=0)


class KeyCreate(BaseModel):
    model_config = {"extra": "forbid"}
    name: Name | None = Field(None, max_length=128)
