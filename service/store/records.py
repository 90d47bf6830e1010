"""Resources as JSON strings in Redis, indexed per project by creation time."""

from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Self, TypeVar, cast

import redis
import redis.asyncio
from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from redis.client import Pipeline

from service.clock import now_precise
from service.store import due, keys
from service.store.clients import text

STORED = {"stored": True}


def hide_internal(schema: dict[str, Any], model: type["Record"]) -> None:
    for name in model.internal:
        schema.get("properties", {}).pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)


class Record(BaseModel):
    """A stored resource. Subclasses fix `kind` (the key's <kind>) and may name `internal`
    fields: stored, but never part of an answer."""

    model_config = ConfigDict(json_schema_extra=hide_internal)
    kind: ClassVar[str]
    internal: ClassVar[frozenset[str]] = frozenset()
    id: str
    created_at: int

    @model_serializer(mode="wrap")
    def _drop_internal(  # type: ignore[no-untyped-def]
            self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):
        # Unannotated on purpose: pydantic then documents the model's own fields.
        data: dict[str, Any] = handler(self)
        if self.internal and not (info.context or {}).get("stored"):
            for name in self.internal:
                data.pop(name, None)
        return data

    def stored_json(self) -> str:
        return self.model_dump_json(context=STORED)

    def evolve(self, **fields: Any) -> Self:
        """A copy with `fields` changed, validated like the original; an unknown field is a
        TypeError (model_copy(update=...) would keep it silently)."""
        return evolve(self, **fields)


M = TypeVar("M", bound=BaseModel)


def evolve(model: M, **fields: Any) -> M:
    """`model` with `fields` changed and validated; refuses a field the model does not have."""
    unknown = sorted(fields.keys() - type(model).model_fields.keys())
    if unknown:
        raise TypeError(f"{type(model).__name__} has no field {', '.join(unknown)}")
    return type(model).model_validate({**dict(model), **fields})


R = TypeVar("R", bound=Record)


async def get_on_loop(client: "redis.asyncio.Redis", model: type[R], record_id: str) -> R | None:
    """Store.get through an asyncio client, for reads that should not take a thread."""
    raw = await client.get(keys.record(model.kind, record_id))
    return None if raw is None else model.model_validate_json(raw)


class Store:
    """The only reader and writer of resource records."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def create(self, record: Record, project_id: str | None,
               also_write: Callable[[Pipeline], None] | None = None) -> None:
        """Write a new record and index it, in one transaction (with also_write's writes)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.multi()  # explicit, so also_write may add an RQ enqueue (which asks for it) to it
        pipe.set(keys.record(record.kind, record.id), record.stored_json())
        score = now_precise()
        if project_id is not None:
            pipe.zadd(keys.project_index(record.kind, project_id), {record.id: score})
        pipe.zadd(keys.all_index(record.kind), {record.id: score})
        if also_write:
            also_write(pipe)
        pipe.execute()

    def get(self, model: type[R], record_id: str) -> R | None:
        raw = self.redis.get(keys.record(model.kind, record_id))
        return None if raw is None else model.model_validate_json(raw)

    def get_many(self, model: type[R], record_ids: list[str]) -> list[R]:
        if not record_ids:
            return []
        raws = self.redis.mget([keys.record(model.kind, i) for i in record_ids])
        return [model.model_validate_json(raw) for raw in raws if raw is not None]

    def update(self, model: type[R], record_id: str, change: Callable[[R], R],
               also_write: Callable[[Pipeline, R, R], None] | None = None) -> R:
        """Apply change to the current record atomically (optimistic, retried on conflict).

        change may raise to refuse; also_write(pipe, old, new) adds writes to the same
        transaction.
        """
        key = keys.record(model.kind, record_id)
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    raw = pipe.get(key)
                    if raw is None:
                        raise KeyError(record_id)
                    old = model.model_validate_json(raw)
                    new = change(old)
                    pipe.multi()
                    pipe.set(key, new.stored_json())
                    if also_write:
                        also_write(pipe, old, new)
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def delete(self, model: type[Record], record_id: str, project_id: str | None) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(keys.record(model.kind, record_id))
        if project_id is not None:
            pipe.zrem(keys.project_index(model.kind, project_id), record_id)
        pipe.zrem(keys.all_index(model.kind), record_id)
        pipe.execute()

    def bury(self, model: type[Record], record_id: str, project_id: str) -> None:
        """Delete a record, remembering it was the project's so a repeated DELETE answers alike."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(keys.record_part(model.kind, record_id, "deleted"), project_id)
        pipe.delete(keys.record(model.kind, record_id))
        pipe.zrem(keys.project_index(model.kind, project_id), record_id)
        pipe.zrem(keys.all_index(model.kind), record_id)
        pipe.execute()

    def was_deleted(self, model: type[Record], record_id: str, project_id: str) -> bool:
        owner = self.redis.get(keys.record_part(model.kind, record_id, "deleted"))
        return owner is not None and text(owner) == project_id

    def scan(self, model: type[R], project_id: str | None, *, after: str | None = None,
             newest_first: bool = True, batch: int = 100) -> Iterator[R]:
        """Records of a project (or all, when project_id is None) from just past `after`."""
        index = (keys.project_index(model.kind, project_id) if project_id is not None
                 else keys.all_index(model.kind))
        rank_of = self.redis.zrevrank if newest_first else self.redis.zrank
        range_of = self.redis.zrevrange if newest_first else self.redis.zrange
        start = 0
        if after is not None:
            rank = rank_of(index, after)
            if rank is None:
                return
            start = cast(int, rank) + 1  # an int: asked without withscore
        while True:
            ids = due.ids(range_of(index, start, start + batch - 1))
            if not ids:
                return
            yield from self.get_many(model, ids)
            start += len(ids)
