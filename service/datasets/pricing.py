"""Training and inference prices from the dated price table, and OpenAI's epoch rule.

The table (`prices.json`, or the file `settings.price_table` names) lists dated snapshots;
aliases (`gpt-4o-mini`) and fine-tuned names (`ft:<base>:…`) resolve to a snapshot, and an
unlisted dated snapshot of a listed family (`gpt-4o-2024-11-20`) to that family's alias.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt
import orjson

from service.datasets.tokens import base_model
from service.errors import InvalidRequest

DEFAULT_TABLE = Path(__file__).resolve().parent / "prices.json"
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_EPOCHS = 1
MAX_EPOCHS = 25
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


@dataclass(frozen=True)
class ModelPrices:
    model: str
    training_per_million: float
    context_limit: int
    input_per_million: float
    output_per_million: float
    fine_tuned_input_per_million: float
    fine_tuned_output_per_million: float


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    currency: str
    batch_discount: float
    models: Mapping[str, ModelPrices]
    aliases: Mapping[str, str]

    def resolve(self, model: str) -> str:
        """The listed snapshot model stands for; InvalidRequest when there is none."""
        name = base_model(model)
        for candidate in (name, _SNAPSHOT_SUFFIX.sub("", name)):
            candidate = self.aliases.get(candidate, candidate)
            if candidate in self.models:
                return candidate
        known = ", ".join(sorted([*self.models, *self.aliases]))
        raise InvalidRequest(f"No price for model {model!r}; known models: {known}.",
                             errors=[{"field": "model", "message": "unknown model"}])

    def for_model(self, model: str) -> ModelPrices:
        """Prices and context limit of model (alias, snapshot or fine-tuned name)."""
        return self.models[self.resolve(model)]

    def inference_cost(self, model: str, input_tokens: int, output_tokens: int, *,
                       batch: bool = False) -> float:
        """USD for a completion; fine-tuned names pay fine-tuned rates; batch gets the discount."""
        prices = self.for_model(model)
        if model.startswith("ft:"):
            rates = prices.fine_tuned_input_per_million, prices.fine_tuned_output_per_million
        else:
            rates = prices.input_per_million, prices.output_per_million
        cost = (input_tokens * rates[0] + output_tokens * rates[1]) / 1e6
        return round(cost * (1 - self.batch_discount) if batch else cost, 6)


def load_prices(path: str | Path = DEFAULT_TABLE) -> PriceTable:
    """The price table at path; ValueError naming the file when it is malformed."""
    try:
        raw: dict[str, Any] = orjson.loads(Path(path).read_bytes())
        models = {name: ModelPrices(model=name, **entry) for name, entry in raw["models"].items()}
        return PriceTable(as_of=str(raw["as_of"]), currency=str(raw["currency"]),
                          batch_discount=float(raw.get("batch_discount", 0.0)),
                          models=models, aliases=dict(raw.get("aliases", {})))
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"price table {path}: {exc}") from exc


@lru_cache(maxsize=1)
def default_prices() -> PriceTable:
    """The repository's price table, loaded once."""
    return load_prices(DEFAULT_TABLE)


def auto_epochs(n_examples: int) -> int:
    """OpenAI's "auto" epochs: 3, raised so examples × epochs ≥ 100 or lowered so it is ≤ 25,000.

    The cookbook floors 100/n; this rounds up so the 100 minimum really holds (n=30: 4, not 3).
    No examples gives the maximum, 25 (the limit of the rule as n falls).
    """
    if n_examples <= 0:
        return MAX_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_EPOCHS, math.ceil(MIN_TARGET_EXAMPLES / n_examples))
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


class Estimate(TypedDict):
    n_epochs: int
    tokens_per_epoch: int
    trained_tokens: int
    price_per_million_usd: float
    cost_usd: float


def estimate(tokens_per_example: npt.ArrayLike, n_epochs: int | Literal["auto"] | None,
             model: str, prices: PriceTable | None = None) -> Estimate:
    """What training costs: each example counted up to the context limit, times the epochs."""
    table = prices or default_prices()
    model_prices = table.for_model(model)
    tokens = np.asarray(tokens_per_example, dtype=np.int64)
    epochs = n_epochs if isinstance(n_epochs, int) else auto_epochs(tokens.size)
    if not MIN_EPOCHS <= epochs <= MAX_EPOCHS:
        raise InvalidRequest(f"n_epochs must be between {MIN_EPOCHS} and {MAX_EPOCHS}.",
                             errors=[{"field": "n_epochs", "message": "out of range"}])
    per_epoch = int(np.minimum(tokens, model_prices.context_limit).sum())
    trained = per_epoch * epochs
    price = model_prices.training_per_million
    return {"n_epochs": epochs, "tokens_per_epoch": per_epoch, "trained_tokens": trained,
            "price_per_million_usd": price, "cost_usd": round(trained * price / 1e6, 6)}
