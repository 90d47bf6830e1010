"""An evaluation's results from its stored answers: metrics per model, the comparison, cost."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from service.context import Context
from service.datasets.pricing import PriceTable, load_prices
from service.errors import InvalidRequest
from service.evaluations import metrics, predictions
from service.evaluations.models import Comparison, Evaluation, EvaluationError, ModelResult
from service.evaluations.scoring import score, truth_label

NOT_ANSWERED = {"code": "not_answered", "message": "The provider gave no answer."}


@dataclass
class Outcome:
    results: dict[str, ModelResult]
    comparison: Comparison | None
    error: EvaluationError | None  # set when no request at all was answered


def compute(ctx: Context, evaluation: Evaluation) -> Outcome:
    """Score every stored answer; answers are taken in example order for the comparison."""
    labels = predictions.labels(ctx, evaluation.id)
    by_index: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for model, index, stored in predictions.all_stored(ctx, evaluation.id):
        by_index[index][model] = stored
    examples = [by_index[index] for index in sorted(by_index)]
    prices = load_prices(ctx.settings.price_table)
    results, correct = {}, {}
    for model in evaluation.models:
        results[model], correct[model] = model_result(evaluation, model, examples, labels,
                                                      prices)
    comparison = None
    if len(evaluation.models) == 2:
        a, b = evaluation.models
        comparison = Comparison(**metrics.compare(
            correct[a], correct[b], a, b, results[a].accuracy, results[b].accuracy,
            macro_f1_a=results[a].macro_f1, macro_f1_b=results[b].macro_f1))
    return Outcome(results, comparison, total_failure(examples))


def model_result(evaluation: Evaluation, model: str, examples: list[dict[str, dict[str, Any]]],
                 labels: list[str], prices: PriceTable) -> tuple[ModelResult, list[bool]]:
    truths: list[str] = []
    predicted: list[str | None] = []
    correct: list[bool] = []
    latencies: list[float | None] = []
    prompt_tokens = completion_tokens = 0
    for answers in examples:
        expected = next(iter(answers.values()))["expected"]
        stored = answers.get(model) or {"output": None, "error": NOT_ANSWERED}
        scored = score(stored["output"], expected, evaluation.scoring, labels)
        truths.append(truth_label(expected, evaluation.scoring))
        predicted.append(scored.predicted_label)
        correct.append(scored.correct)
        latencies.append(stored.get("latency_ms"))
        prompt_tokens += stored.get("prompt_tokens", 0)
        completion_tokens += stored.get("completion_tokens", 0)
    found = metrics.model_metrics(truths, predicted, labels)
    batch = evaluation.mode == "batch"
    result = ModelResult(
        **found, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
        mean_latency_ms=None if batch else metrics.mean_latency_ms(latencies),
        cost_usd=cost(prices, model, prompt_tokens, completion_tokens, batch))
    return result, correct


def cost(prices: PriceTable, model: str, prompt_tokens: int, completion_tokens: int,
         batch: bool) -> float | None:
    """USD at the price table's rates (fine-tuned rates for ft: models); None if unpriced."""
    try:
        return prices.inference_cost(model, prompt_tokens, completion_tokens, batch=batch)
    except InvalidRequest:
        return None


def total_failure(examples: list[dict[str, dict[str, Any]]]) -> EvaluationError | None:
    """The most frequent error when every request failed; None when any was answered."""
    errors = [stored.get("error") for answers in examples for stored in answers.values()]
    if not errors or any(error is None for error in errors):
        return None
    code, message = Counter((e["code"], e["message"]) for e in errors
                            if e is not None).most_common(1)[0][0]
    return EvaluationError(code=code, message=f"Every request failed; the most frequent "
                                              f"error: {message}")
