from typing import ClassVar, Literal

from pydantic import BaseModel

from service.store.records import Record


class FineTunedModel(Record):
    """A project's fine-tuned model; `id` is the provider's model name (ft:…)."""

    kind: ClassVar[str] = "model"
    object: Literal["model"] = "model"
    project_id: str
    base_model: str
    job_id: str | None
    status: Literal["active", "deleted"] = "active"

    def public(self) -> "ModelOut":
        return ModelOut(id=self.id, created=self.created_at, owned_by=self.project_id,
                        base_model=self.base_model, job_id=self.job_id, status=self.status)


class ModelOut(BaseModel):
    """OpenAI's model fields plus ours."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    base_model: str | None = None
    job_id: str | None = None
    status: Literal["active", "deleted"] = "active"


class ModelList(BaseModel):
    """OpenAI's list of models: the whole list, no pages."""

    object: Literal["list"] = "list"
    data: list[ModelOut]
