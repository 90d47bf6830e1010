import json
import math
import random

import pytest
from scipy.stats import binomtest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
)

from service.evaluations.metrics import (
    EXACT_LIMIT,
    INVALID,
    compare,
    matthews,
    mcnemar_p,
    mean_latency_ms,
    model_metrics,
    usage_cost,
)


def strict_json(value: object) -> str:
    return json.dumps(value, allow_nan=False)


def test_metrics_by_hand_with_a_label_never_predicted_and_one_never_true() -> None:
    # c is true twice and never predicted; d is predicted once and never true;
    # e is a label of the dataset that appears nowhere.
    truths = ["a", "a", "a", "b", "b", "c", "c"]
    predictions = ["a", "a", "d", "b", None, "b", "a"]
    result = model_metrics(truths, predictions, ["a", "b", "c", "d", "e"])

    assert result["confusion_matrix"] == {
        "labels": ["a", "b", "c", "d", "e", INVALID],
        "matrix": [
            [2, 0, 0, 1, 0, 0],
            [0, 1, 0, 0, 0, 1],
            [1, 1, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
        ],
    }
    assert result["accuracy"] == pytest.approx(3 / 7)
    assert result["invalid_outputs"] == 1
    assert result["per_label"] == {
        "a": {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3),
              "f1": pytest.approx(2 / 3), "support": 3},
        "b": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
        "c": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2},
        "d": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
    }
    # Averaged over a, b, c, d: e is in neither the truths nor the predictions.
    assert result["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 4)
    # Gorodkin: t = (3,2,2,0,0,0), p = (3,2,0,1,0,1), c = 3, s = 7
    # (3*7 - 13) / sqrt((49 - 15) * (49 - 17)) = 8 / sqrt(1088) = 1 / sqrt(17)
    assert result["mcc"] == pytest.approx(1 / math.sqrt(17))


def test_binary_mcc_is_the_textbook_formula() -> None:
    tp, fn, fp, tn = 6, 2, 1, 3
    truths = ["yes"] * (tp + fn) + ["no"] * (fp + tn)
    predictions = ["yes"] * tp + ["no"] * fn + ["yes"] * fp + ["no"] * tn
    result = model_metrics(truths, predictions, ["no", "yes"])

    textbook = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert result["mcc"] == pytest.approx(textbook)
    assert result["mcc"] == pytest.approx(16 / math.sqrt(1120))
    assert result["confusion_matrix"]["matrix"] == [[3, 1, 0], [2, 6, 0], [0, 0, 0]]
    assert result["per_label"]["yes"]["precision"] == pytest.approx(6 / 7)
    assert result["per_label"]["yes"]["recall"] == pytest.approx(6 / 8)


def test_a_perfect_predictor_scores_one_everywhere() -> None:
    truths = ["x", "y", "z", "y", "x"]
    result = model_metrics(truths, list(truths), ["x", "y", "z"])
    assert (result["accuracy"], result["macro_f1"], result["mcc"]) == (1.0, 1.0, 1.0)
    assert result["invalid_outputs"] == 0
    assert all(s["precision"] == s["recall"] == s["f1"] == 1.0
               for s in result["per_label"].values())


def test_a_perfectly_wrong_binary_predictor_has_mcc_minus_one() -> None:
    result = model_metrics(["a", "b", "a", "b"], ["b", "a", "b", "a"], ["a", "b"])
    assert result["mcc"] == pytest.approx(-1.0)
    assert result["accuracy"] == 0.0


def test_all_invalid_outputs_give_zeros_and_no_nan() -> None:
    truths = ["a", "b", "b", "c"]
    result = model_metrics(truths, [None, "maybe", None, ""], ["a", "b", "c"])
    assert result["accuracy"] == 0.0
    assert result["macro_f1"] == 0.0
    assert result["mcc"] == 0.0
    assert result["invalid_outputs"] == 4
    assert [row[-1] for row in result["confusion_matrix"]["matrix"]] == [1, 2, 1, 0]
    assert sorted(result["per_label"]) == ["a", "b", "c"]
    assert all(s["f1"] == 0.0 for s in result["per_label"].values())
    strict_json(result)


def test_a_constant_predictor_has_mcc_zero_not_nan() -> None:
    result = model_metrics(["a", "b", "a"], ["a", "a", "a"], ["a", "b"])
    assert result["mcc"] == 0.0
    assert result["accuracy"] == pytest.approx(2 / 3)
    strict_json(result)


def test_no_examples_give_zeros() -> None:
    result = model_metrics([], [], ["a", "b"])
    assert (result["accuracy"], result["macro_f1"], result["mcc"]) == (0.0, 0.0, 0.0)
    assert result["per_label"] == {}
    assert result["confusion_matrix"]["matrix"] == [[0, 0, 0]] * 3
    strict_json(result)


def test_a_label_named_invalid_gets_its_own_column() -> None:
    result = model_metrics(["(invalid)", "ok"], ["(invalid)", None], ["(invalid)", "ok"])
    assert result["confusion_matrix"]["labels"] == ["(invalid)", "ok", "((invalid))"]
    assert result["confusion_matrix"]["matrix"][0] == [1, 0, 0]
    assert result["invalid_outputs"] == 1


def test_duplicate_labels_count_once() -> None:
    result = model_metrics(["a"], ["a"], ["a", "b", "a"])
    assert result["confusion_matrix"]["labels"] == ["a", "b", INVALID]


def test_metrics_reject_mismatched_or_unknown_truths() -> None:
    with pytest.raises(ValueError, match="2 ground truths but 1 predictions"):
        model_metrics(["a", "b"], ["a"], ["a", "b"])
    with pytest.raises(ValueError, match="'z'"):
        model_metrics(["a", "z"], ["a", "a"], ["a", "b"])


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
@pytest.mark.parametrize("seed", range(300))
def test_metrics_match_scikit_learn(seed: int) -> None:
    rng = random.Random(seed)
    labels = [f"L{k}" for k in range(rng.randint(1, 6))]
    n = rng.randint(1, 60)
    # Skewed truths so that some labels are absent; predictions sometimes invalid.
    truths = [rng.choice(labels[: rng.randint(1, len(labels))]) for _ in range(n)]
    invalid_rate = rng.choice([0.0, 0.2, 1.0])
    predictions: list[str | None] = [
        rng.choice([None, "junk"]) if rng.random() < invalid_rate else rng.choice(labels)
        for _ in range(n)
    ]
    result = model_metrics(truths, predictions, labels)

    as_class = [p if p in labels else INVALID for p in predictions]
    present = [label for label in labels if label in truths or label in as_class]
    columns = [*labels, INVALID]
    assert result["confusion_matrix"]["matrix"] == confusion_matrix(
        truths, as_class, labels=columns).tolist()
    assert sum(map(sum, result["confusion_matrix"]["matrix"])) == n
    assert result["accuracy"] == pytest.approx(accuracy_score(truths, as_class))
    assert result["mcc"] == pytest.approx(matthews_corrcoef(truths, as_class), abs=1e-12)
    assert result["macro_f1"] == pytest.approx(
        f1_score(truths, as_class, labels=present, average="macro", zero_division=0), abs=1e-12)
    precision, recall, f1, support = precision_recall_fscore_support(
        truths, as_class, labels=present, zero_division=0)
    assert list(result["per_label"]) == present
    for k, label in enumerate(present):
        scores = result["per_label"][label]
        assert scores["precision"] == pytest.approx(precision[k])
        assert scores["recall"] == pytest.approx(recall[k])
        assert scores["f1"] == pytest.approx(f1[k])
        assert scores["support"] == support[k]
    strict_json(result)


def test_matthews_of_a_zero_matrix_is_zero() -> None:
    assert matthews([[0, 0], [0, 0]]) == 0.0


def test_compare_counts_flips_and_takes_first_minus_second() -> None:
    a = [True, True, False, False, True, True]
    b = [True, False, True, False, False, True]
    result = compare(a, b, "ft:m", "base", 4 / 6, 3 / 6)
    assert result["flips"] == {"fixed": 2, "broken": 1}
    assert result["accuracy_delta"] == pytest.approx(1 / 6)
    assert result["best_model"] == "ft:m"
    # n = 3 discordant, k = 1: 2 * (1 + 3) / 8 = 1.0
    assert result["mcnemar_p"] == 1.0
    strict_json(result)


def test_compare_picks_the_higher_accuracy_even_when_second() -> None:
    result = compare([False, True], [True, True], "ft:m", "base", 0.5, 1.0)
    assert result["best_model"] == "base"
    assert result["accuracy_delta"] == -0.5
    assert result["flips"] == {"fixed": 0, "broken": 1}


def test_compare_breaks_accuracy_ties_by_macro_f1_then_order() -> None:
    same = [True, False]
    assert compare(same, same, "a", "b", 0.5, 0.5, macro_f1_a=0.3, macro_f1_b=0.4)[
        "best_model"] == "b"
    assert compare(same, same, "a", "b", 0.5, 0.5, macro_f1_a=0.4, macro_f1_b=0.3)[
        "best_model"] == "a"
    assert compare(same, same, "a", "b", 0.5, 0.5)["best_model"] == "a"
    assert compare(same, same, "a", "b", 0.1 + 0.2, 0.3)["best_model"] == "a"


def test_compare_without_discordant_pairs_has_p_one() -> None:
    result = compare([True, False, True], [True, False, True], "a", "b", 2 / 3, 2 / 3)
    assert result["mcnemar_p"] == 1.0
    assert result["flips"] == {"fixed": 0, "broken": 0}


def test_compare_rejects_different_lengths() -> None:
    with pytest.raises(ValueError, match="2 results for a but 1 for b"):
        compare([True, True], [True], "a", "b", 1.0, 1.0)


def test_mcnemar_exact_values_by_hand() -> None:
    # 2 * (C(12,0) + C(12,1) + C(12,2)) / 2**12 = 2 * 79 / 4096
    assert mcnemar_p(10, 2) == 79 / 2048
    assert mcnemar_p(10, 2) == pytest.approx(0.0386, abs=1e-4)
    assert mcnemar_p(2, 10) == mcnemar_p(10, 2)
    assert mcnemar_p(5, 0) == 2 / 32
    assert mcnemar_p(1, 0) == 1.0
    assert mcnemar_p(7, 7) == 1.0
    assert mcnemar_p(0, 0) == 1.0


@pytest.mark.parametrize(("fixed", "broken"), [
    (1, 2), (3, 9), (0, 24), (13, 12), (40, 20), (100, 130), (500, 0), (2000, 2100),
    (9000, 11000), (EXACT_LIMIT // 2, EXACT_LIMIT // 2 + 1),
    (15000, 5001), (60000, 61000), (400000, 398000), (10**6, 10),
])
def test_mcnemar_matches_scipy_binomial_test(fixed: int, broken: int) -> None:
    expected = binomtest(fixed, fixed + broken, 0.5).pvalue
    rel = 1e-12 if fixed + broken <= EXACT_LIMIT else 1e-7
    assert mcnemar_p(fixed, broken) == pytest.approx(expected, rel=rel, abs=1e-300)
    assert 0.0 <= mcnemar_p(fixed, broken) <= 1.0


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        mcnemar_p(-1, 3)


def test_usage_cost_applies_prices_per_million_and_halves_batch() -> None:
    # 1000 * 0.30 / 1e6 + 500 * 1.20 / 1e6 = 0.0003 + 0.0006
    assert usage_cost(1000, 500, 0.30, 1.20, batch=False) == pytest.approx(0.0009)
    assert usage_cost(1000, 500, 0.30, 1.20, batch=True) == pytest.approx(0.00045)
    assert usage_cost(0, 0, 0.30, 1.20, batch=False) == 0.0
    assert usage_cost(2_000_000, 0, 5.0, 15.0, batch=False) == 10.0


def test_usage_cost_rejects_negative_inputs() -> None:
    with pytest.raises(ValueError, match="Token counts"):
        usage_cost(-1, 0, 1.0, 1.0, batch=False)
    with pytest.raises(ValueError, match="Prices"):
        usage_cost(1, 0, -1.0, 1.0, batch=False)


def test_mean_latency_skips_missing_measurements() -> None:
    assert mean_latency_ms([100.0, 200.0, None, 300.0]) == 200.0
    assert mean_latency_ms([120.0, float("nan"), float("inf")]) == 120.0
    assert mean_latency_ms([None, None]) is None
    assert mean_latency_ms([]) is None
