"""The list envelope of every list route: {object, data, has_more, first_id, last_id}."""

from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
    first_id: str | None
    last_id: str | None

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """`Page[Job]` is published as `JobList`."""
        return f"{getattr(params[0], '__name__', 'Item')}List"


def take_page(items: Iterable[T], limit: int, where: Callable[[T], bool] | None = None,
              id_of: Callable[[T], str] = lambda item: item.id) -> Page[T]:  # type: ignore[attr-defined]
    """The first `limit` items (that pass `where`), and whether more follow."""
    if where is not None:
        items = filter(where, items)
    data = list(islice(items, limit + 1))
    has_more = len(data) > limit
    data = data[:limit]
    return Page[T](data=data, has_more=has_more,
                   first_id=id_of(data[0]) if data else None,
                   last_id=id_of(data[-1]) if data else None)


def whole_page(items: Sequence[T]) -> Page[T]:
    """Every item as one page: for a list that is short by nature and never cut."""
    return take_page(items, len(items))
