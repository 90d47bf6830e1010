"""An evaluation's data beside its record: answers, prompts, labels, the cancel flag."""

from collections.abc import Iterator

import orjson

from service.store import keys
from service.store.clients import Client, Pipeline, blob

CANCEL_KEEP_SECONDS = 7 * 86400


def save_prediction(client: Client, evaluation_id: str, field: str, stored: bytes) -> bool:
    """Keep the first answer only; True when this one was kept."""
    return bool(client.hsetnx(keys.evaluation_predictions(evaluation_id), field, stored))


def predictions(client: Client, evaluation_id: str, fields: list[str]) -> list[bytes | None]:
    """The stored answers of fields, None where there is none."""
    return [blob(raw) for raw in client.hmget(keys.evaluation_predictions(evaluation_id), fields)]


def all_predictions(client: Client, evaluation_id: str,
                    batch: int) -> Iterator[tuple[bytes, bytes]]:
    """Every (field, answer), in no particular order."""
    yield from client.hscan_iter(keys.evaluation_predictions(evaluation_id), count=batch)


def count_predictions(client: Client, evaluation_ids: list[str]) -> list[int]:
    pipe = client.pipeline(transaction=False)
    for evaluation_id in evaluation_ids:
        pipe.hlen(keys.evaluation_predictions(evaluation_id))
    return [int(n) for n in pipe.execute()]


def save_labels(client: Client, evaluation_id: str, labels: bytes) -> None:
    client.set(keys.evaluation_labels(evaluation_id), labels)


def labels(client: Client, evaluation_id: str) -> list[str]:
    raw = client.get(keys.evaluation_labels(evaluation_id))
    return orjson.loads(raw) if raw else []


class InputWriter:
    """Prompts by example index, written in batches of `flush`."""

    def __init__(self, client: Client, evaluation_id: str) -> None:
        self.key = keys.evaluation_inputs(evaluation_id)
        self.pipe = client.pipeline(transaction=False)

    def add(self, index: int, messages: bytes) -> None:
        self.pipe.hset(self.key, str(index), messages)

    def flush(self) -> None:
        self.pipe.execute()


def inputs(client: Client, evaluation_id: str, indexes: list[int]) -> list[bytes | None]:
    return [blob(raw) for raw in
            client.hmget(keys.evaluation_inputs(evaluation_id), [str(i) for i in indexes])]


def mark_cancelled(pipe: Pipeline, evaluation_id: str) -> None:
    """In the transaction that cancels it: the running task stops when it sees this."""
    pipe.set(keys.evaluation_cancel(evaluation_id), "1", ex=CANCEL_KEEP_SECONDS)


def is_cancelled(client: Client, evaluation_id: str) -> bool:
    return bool(client.exists(keys.evaluation_cancel(evaluation_id)))
