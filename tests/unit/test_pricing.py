"""Price table, model resolution, OpenAI's auto-epoch rule and the cost estimate."""

from pathlib import Path

import numpy as np
import pytest

from service.datasets.pricing import (
    DEFAULT_TABLE,
    auto_epochs,
    default_prices,
    estimate,
    load_prices,
)
from service.errors import InvalidRequest
from service.settings import Settings


@pytest.mark.parametrize(("n_examples", "epochs"), [
    (1, 25), (4, 25), (5, 20), (10, 10), (30, 4), (33, 4), (34, 3), (100, 3), (8333, 3),
    (8334, 2), (12_500, 2), (12_501, 1), (25_000, 1), (1_000_000, 1), (0, 25),
])
def test_auto_epochs_follow_openais_rule(n_examples: int, epochs: int) -> None:
    assert auto_epochs(n_examples) == epochs
    if n_examples:
        assert 1 <= epochs <= 25
        assert n_examples * epochs >= 100 or epochs == 25
        assert n_examples * epochs <= 25_000 or epochs == 1


def test_estimate_caps_each_example_at_the_context_limit() -> None:
    result = estimate(np.array([100, 70_000, 5]), 2, "gpt-4o-mini-2024-07-18")
    assert result == {"n_epochs": 2, "tokens_per_epoch": 100 + 65_536 + 5,
                      "trained_tokens": 2 * (100 + 65_536 + 5), "price_per_million_usd": 3.0,
                      "cost_usd": round(2 * 65_641 * 3.0 / 1e6, 6)}


def test_estimate_auto_epochs_and_models() -> None:
    tokens = [1000] * 50
    result = estimate(tokens, "auto", "gpt-4o")
    assert result["n_epochs"] == 3
    assert result["trained_tokens"] == 150_000
    assert result["cost_usd"] == pytest.approx(150_000 * 25.0 / 1e6)
    assert estimate(tokens, None, "gpt-3.5-turbo")["price_per_million_usd"] == 8.0
    assert estimate([], None, "gpt-4.1-nano")["trained_tokens"] == 0
    with pytest.raises(InvalidRequest):
        estimate(tokens, 26, "gpt-4o")


@pytest.mark.parametrize(("model", "snapshot", "training", "limit"), [
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", 3.0, 65536),
    ("gpt-4o", "gpt-4o-2024-08-06", 25.0, 65536),
    ("gpt-4.1", "gpt-4.1-2025-04-14", 25.0, 65536),
    ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini-2025-04-14", 5.0, 65536),
    ("gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", 1.5, 65536),
    ("gpt-3.5-turbo", "gpt-3.5-turbo-0125", 8.0, 16385),
    ("gpt-3.5-turbo-1106", "gpt-3.5-turbo-1106", 8.0, 16385),
    ("ft:gpt-4o-mini-2024-07-18:acme:reflection:Ab12", "gpt-4o-mini-2024-07-18", 3.0, 65536),
    ("gpt-4o-2024-11-20", "gpt-4o-2024-08-06", 25.0, 65536),
])
def test_models_resolve_to_a_listed_snapshot(model: str, snapshot: str, training: float,
                                             limit: int) -> None:
    prices = default_prices()
    assert prices.resolve(model) == snapshot
    assert prices.for_model(model).training_per_million == training
    assert prices.for_model(model).context_limit == limit


def test_unknown_model_is_a_client_error() -> None:
    with pytest.raises(InvalidRequest) as caught:
        default_prices().resolve("davinci-002")
    assert caught.value.code == "invalid_request"
    assert "davinci-002" in caught.value.detail


def test_inference_prices_for_base_fine_tuned_and_batch() -> None:
    prices = default_prices()
    assert prices.inference_cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert prices.inference_cost("ft:gpt-4o-mini-2024-07-18:o::x", 1_000_000,
                                 1_000_000) == pytest.approx(1.5)
    assert prices.inference_cost("gpt-4.1", 2_000_000, 0, batch=True) == pytest.approx(2.0)
    assert prices.for_model("ft:gpt-3.5-turbo-0125:o::x").fine_tuned_output_per_million == 6.0


def test_the_table_is_dated_and_is_the_configured_default() -> None:
    prices = load_prices(DEFAULT_TABLE)
    assert prices.as_of.startswith("2026-")
    assert prices.currency == "USD"
    assert prices.batch_discount == 0.5
    assert Settings.model_fields["price_table"].default == DEFAULT_TABLE


def test_a_malformed_table_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"as_of": "2026-01-01", "models": {}}')
    with pytest.raises(ValueError, match=r"prices\.json"):
        load_prices(path)
