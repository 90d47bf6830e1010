"""Classification metrics, model comparison and cost, as pure functions.

Semantics, chosen to match scikit-learn where it has an answer:

- A prediction that is ``None`` or not one of ``labels`` is *invalid*. It is
  wrong (it lowers accuracy and its true label's recall) but is no false
  positive of any label. In the confusion matrix it counts in a last
  ``"(invalid)"`` column; the matrix is square, so ``"(invalid)"`` is also its
  last row, which is always zeros (a ground truth is never invalid).
- ``per_label`` and ``macro_f1`` cover the labels present in the ground truth or
  among the valid predictions (scikit-learn's default label set, less the
  invalid pseudo-class); labels of the dataset absent from both are left out
  rather than averaged in as zeros. A zero denominator gives 0
  (``zero_division=0``): a label never predicted has precision 0, a label never
  true has recall 0. So ``macro_f1`` equals
  ``f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)``.
- ``mcc`` is the multiclass Matthews correlation (Gorodkin's R_K) over the whole
  matrix, invalid column included, exactly as
  ``matthews_corrcoef(y_true, y_pred_with_invalid_as_a_class)``; 0 when undefined.
- No examples gives zeros everywhere. Nothing returned is ever NaN or infinite.
- McNemar's test is always the exact two-sided binomial test on the discordant
  pairs (valid at every sample size, unlike the chi-square approximation, and
  with no jump at an arbitrary cut-off); 1.0 when there are none. It is summed
  in exact integers up to ``EXACT_LIMIT`` discordant pairs, in floats beyond.
- Floats are returned unrounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

INVALID = "(invalid)"
BATCH_DISCOUNT = 0.5
EXACT_LIMIT = 20_000  # discordant pairs up to which McNemar is summed in integers


def model_metrics(
    truths: Sequence[str], predictions: Sequence[str | None], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, MCC, per-label scores and confusion matrix of one model's outputs."""
    if len(truths) != len(predictions):
        raise ValueError(f"{len(truths)} ground truths but {len(predictions)} predictions.")
    names = list(dict.fromkeys(labels))
    if unknown := set(truths) - set(names):
        raise ValueError(f"Ground truths not among the labels: {sorted(unknown)!r}.")
    invalid_name = _invalid_name(names)
    columns = [*names, invalid_name]
    index = {name: position for position, name in enumerate(names)}
    matrix = [[0] * len(columns) for _ in columns]
    for truth, predicted in zip(truths, predictions, strict=True):
        column = index.get(predicted, len(names)) if predicted is not None else len(names)
        matrix[index[truth]][column] += 1
    per_label = _per_label(matrix, names)
    correct = sum(matrix[k][k] for k in range(len(names)))
    return {
        "accuracy": _ratio(correct, len(truths)),
        "macro_f1": _mean([scores["f1"] for scores in per_label.values()]),
        "mcc": matthews(matrix),
        "per_label": per_label,
        "confusion_matrix": {"labels": columns, "matrix": matrix},
        "invalid_outputs": sum(row[-1] for row in matrix),
    }


def _per_label(matrix: list[list[int]], names: list[str]) -> dict[str, dict[str, float | int]]:
    per_label: dict[str, dict[str, float | int]] = {}
    for k, name in enumerate(names):
        true_positive = matrix[k][k]
        support = sum(matrix[k])
        predicted = sum(row[k] for row in matrix)
        if support == 0 and predicted == 0:
            continue
        per_label[name] = {
            "precision": _ratio(true_positive, predicted),
            "recall": _ratio(true_positive, support),
            "f1": _ratio(2 * true_positive, support + predicted),
            "support": support,
        }
    return per_label


def matthews(matrix: Sequence[Sequence[int]]) -> float:
    """Multiclass Matthews correlation of a square confusion matrix (rows truth); 0 if undefined."""
    total = sum(sum(row) for row in matrix)
    correct = sum(matrix[k][k] for k in range(len(matrix)))
    true_counts = [sum(row) for row in matrix]
    predicted_counts = [sum(row[k] for row in matrix) for k in range(len(matrix))]
    covariance = correct * total - sum(
        t * p for t, p in zip(true_counts, predicted_counts, strict=True)
    )
    spread_predicted = total * total - sum(p * p for p in predicted_counts)
    spread_true = total * total - sum(t * t for t in true_counts)
    if spread_predicted == 0 or spread_true == 0:
        return 0.0
    value = covariance / (math.sqrt(spread_predicted) * math.sqrt(spread_true))
    return max(-1.0, min(1.0, value))


def compare(
    correct_a: Sequence[bool],
    correct_b: Sequence[bool],
    model_a: str,
    model_b: str,
    accuracy_a: float,
    accuracy_b: float,
    *,
    macro_f1_a: float = 0.0,
    macro_f1_b: float = 0.0,
) -> dict[str, Any]:
    """Compare two models scored on the same examples, in the same order."""
    if len(correct_a) != len(correct_b):
        raise ValueError(
            f"{len(correct_a)} results for {model_a} but {len(correct_b)} for {model_b}.")
    fixed = sum(1 for a, b in zip(correct_a, correct_b, strict=True) if a and not b)
    broken = sum(1 for a, b in zip(correct_a, correct_b, strict=True) if b and not a)
    return {
        "best_model": _best(model_a, model_b, (accuracy_a, macro_f1_a), (accuracy_b, macro_f1_b)),
        "accuracy_delta": accuracy_a - accuracy_b,
        "mcnemar_p": mcnemar_p(fixed, broken),
        "flips": {"fixed": fixed, "broken": broken},
    }


def _best(
    model_a: str, model_b: str, rank_a: tuple[float, float], rank_b: tuple[float, float]
) -> str:
    # Equal counts give bit-identical ratios; the tolerance only absorbs float noise.
    for a, b in zip(rank_a, rank_b, strict=True):
        if not math.isclose(a, b, rel_tol=0.0, abs_tol=1e-12):
            return model_a if a > b else model_b
    return model_a


def mcnemar_p(fixed: int, broken: int) -> float:
    """Exact two-sided McNemar p-value: P(|X - n/2| >= |fixed - n/2|), X ~ Binomial(n, 1/2)."""
    if fixed < 0 or broken < 0:
        raise ValueError("Discordant pair counts cannot be negative.")
    n, k = fixed + broken, min(fixed, broken)
    if n == 0 or 2 * k == n:
        return 1.0
    return _exact_tail(n, k) if n <= EXACT_LIMIT else _float_tail(n, k)


def _exact_tail(n: int, k: int) -> float:
    """2 * P(X <= k) in integers, rounded once at the end."""
    term = tail = math.comb(n, k)
    for i in range(k, 0, -1):
        term = term * i // (n - i + 1)  # C(n, i-1), exactly
        tail += term
    return min(1.0, 2 * tail / (1 << n))


def _float_tail(n: int, k: int) -> float:
    """2 * P(X <= k) in floats, for counts where big integers get slow (~1e-9 relative)."""
    # Sum the tail from its largest term down, relative to it, then scale:
    # no underflow of the sum, and a short loop however large n is.
    tail, term, i = 1.0, 1.0, k
    while i > 0 and term > tail * 1e-17:
        term *= i / (n - i + 1)
        tail += term
        i -= 1
    log_top = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
    return min(1.0, 2.0 * math.exp(log_top) * tail)


def usage_cost(
    prompt_tokens: int,
    completion_tokens: int,
    input_price_per_million: float,
    output_price_per_million: float,
    batch: bool,
) -> float:
    """US dollars for the tokens at per-million prices; the Batch API costs half."""
    if min(prompt_tokens, completion_tokens) < 0:
        raise ValueError("Token counts cannot be negative.")
    if min(input_price_per_million, output_price_per_million) < 0:
        raise ValueError("Prices cannot be negative.")
    cost = (prompt_tokens * input_price_per_million
            + completion_tokens * output_price_per_million) / 1_000_000
    return cost * BATCH_DISCOUNT if batch else cost


def mean_latency_ms(latencies_ms: Sequence[float | None]) -> float | None:
    """Mean of the measured latencies (None and non-finite values skipped); None if none."""
    measured = [value for value in latencies_ms if value is not None and math.isfinite(value)]
    return math.fsum(measured) / len(measured) if measured else None


def _invalid_name(names: Sequence[str]) -> str:
    name = INVALID
    while name in names:  # a dataset whose answer is literally "(invalid)"
        name = f"({name})"
    return name


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0
