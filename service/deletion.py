from pydantic import BaseModel


class Deleted(BaseModel):
    """The answer to every DELETE, the same when repeated."""

    id: str
    object: str
    deleted: bool = True
