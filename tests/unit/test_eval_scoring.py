import json
from pathlib import Path

import pytest

from service.evaluations.scoring import (
    Scored,
    dataset_labels,
    find_label,
    normalize,
    score,
    truth_label,
)

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
REFLECTION = ["Reflection", "Simple Reflection", "Critical Reflection", "No-Reflection"]
REFLECTION_LABELS = dataset_labels(REFLECTION, "label")


def sentiment_truths() -> list[str]:
    path = SHARED_DATA / "public" / "bertcode_sentiment_training_set.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [[m for m in row["messages"] if m["role"] == "assistant"][-1]["content"] for row in rows]


@pytest.mark.parametrize(("text", "expected"), [
    ("Positive", "positive"),
    ("  NEUTRAL \n", "neutral"),
    ("Neutral.", "neutral"),
    ("Negative!!", "negative"),
    ("positive ?", "positive"),
    ("Yes;:,", "yes"),
    ('"Positive".', "positive"),
    ("“Positive”", "positive"),
    ("'positive'", "positive"),
    ("`label`", "label"),
    ("Simple   \t Reflection", "simple reflection"),
    ("U.S.A.", "u.s.a"),
    ("a, b.", "a, b"),
    ("¿Qué?", "¿qué"),
    ("Straße", "strasse"),
    ("...", ""),
    ("", ""),
])
def test_normalize_ignores_case_whitespace_quotes_and_trailing_punctuation(
    text: str, expected: str
) -> None:
    assert normalize(text) == expected


def test_normalize_keeps_leading_punctuation_that_is_not_a_quote() -> None:
    assert normalize("-1") == "-1"
    assert normalize("(a)") == "(a)"


def test_dataset_labels_merge_spellings_only_when_normalized() -> None:
    truths = sentiment_truths()
    assert "Neutral." in truths
    assert "Neutral" in truths
    assert dataset_labels(truths, "exact") == ["Negative", "Neutral", "Neutral.", "Positive"]
    assert dataset_labels(truths, "normalized") == ["negative", "neutral", "positive"]
    assert dataset_labels(truths, "label") == ["negative", "neutral", "positive"]


def test_truth_label_rejects_an_unknown_mode() -> None:
    assert truth_label("Neutral.", "exact") == "Neutral."
    assert truth_label("Neutral.", "normalized") == "neutral"
    with pytest.raises(ValueError, match="fuzzy"):
        truth_label("x", "fuzzy")  # type: ignore[arg-type]


EXACT = ["Positive", "Negative", "Neutral"]


def test_exact_is_correct_only_on_identical_strings() -> None:
    assert score("Positive", "Positive", "exact", EXACT) == Scored("Positive", True, False)
    assert score("Negative", "Positive", "exact", EXACT) == Scored("Negative", False, False)


def test_exact_reports_an_unknown_output_as_invalid_but_keeps_it() -> None:
    assert score("positive", "Positive", "exact", EXACT) == Scored("positive", False, True)
    assert score("Positive.", "Positive", "exact", EXACT) == Scored("Positive.", False, True)
    assert score("", "Positive", "exact", EXACT) == Scored("", False, True)


@pytest.mark.parametrize("mode", ["exact", "normalized", "label"])
def test_a_missing_output_is_invalid_in_every_mode(mode: str) -> None:
    labels = dataset_labels(EXACT, mode)  # type: ignore[arg-type]
    assert score(None, "Positive", mode, labels) == Scored(None, False, True)  # type: ignore[arg-type]


def test_normalized_maps_an_output_to_the_label_with_the_same_normal_form() -> None:
    labels = dataset_labels(sentiment_truths(), "normalized")
    assert (score("  positive. ", "Positive", "normalized", labels)
            == Scored("positive", True, False))
    assert score("Neutral", "Neutral.", "normalized", labels) == Scored("neutral", True, False)
    assert score('"NEGATIVE"', "Positive", "normalized", labels) == Scored("negative", False, False)


def test_normalized_reports_an_output_that_is_no_label_as_invalid() -> None:
    labels = dataset_labels(EXACT, "normalized")
    assert score("It is positive.", "Positive", "normalized", labels) == Scored(
        "it is positive", False, True)
    assert score("...", "Positive", "normalized", labels) == Scored("", False, True)


@pytest.mark.parametrize(("output", "expected"), [
    ("Positive", "positive"),
    ("The sentiment is POSITIVE.", "positive"),
    ("**Negative**", "negative"),
    ("Label: neutral\n", "neutral"),
    ("positive, clearly positive", "positive"),
    ('"Neutral."', "neutral"),
])
def test_label_finds_the_one_label_an_output_mentions(output: str, expected: str) -> None:
    labels = dataset_labels(EXACT, "label")
    truth = {"positive": "Positive", "negative": "Negative", "neutral": "Neutral"}[expected]
    assert score(output, truth, "label", labels) == Scored(expected, True, False)


@pytest.mark.parametrize("output", [
    "I cannot tell.",
    "Positive or negative, hard to say.",
    "positively",
    "non-positive",
    "Positives",
    "",
])
def test_label_is_invalid_when_an_output_mentions_no_label_or_several(output: str) -> None:
    labels = dataset_labels(EXACT, "label")
    assert score(output, "Positive", "label", labels) == Scored(None, False, True)


@pytest.mark.parametrize(("output", "expected"), [
    ("Reflection", "reflection"),
    ("Simple Reflection", "simple reflection"),
    ("simple\n  reflection.", "simple reflection"),
    ("This is a critical reflection of the text.", "critical reflection"),
    ("No-Reflection", "no-reflection"),
    ("no-reflection, sorry", "no-reflection"),
    ("A reflection; yes, reflection.", "reflection"),
])
def test_label_prefers_the_longest_label_and_ignores_labels_inside_it(
    output: str, expected: str
) -> None:
    assert find_label(output, REFLECTION_LABELS) == expected
    scored = score(output, "Reflection", "label", REFLECTION_LABELS)
    assert scored == Scored(expected, expected == "reflection", False)


@pytest.mark.parametrize("output", [
    "Simple Reflection, or maybe just Reflection",
    "critical reflection, not simple reflection",
    "No-Reflection rather than Reflection",
    "reflections",
    "non-reflection",
])
def test_label_counts_separate_mentions_of_nested_labels_as_several(output: str) -> None:
    assert score(output, "Reflection", "label", REFLECTION_LABELS) == Scored(None, False, True)


def test_label_counts_partially_overlapping_labels_as_two() -> None:
    labels = ["red wine", "wine glass"]
    assert find_label("a red wine glass", labels) is None
    assert find_label("a red wine", labels) == "red wine"


def test_label_needs_no_word_boundary_at_a_punctuation_edge() -> None:
    labels = ["c++", "c"]
    assert find_label("Use C++, it is fast", labels) == "c++"
    assert find_label("Use C.", labels) == "c"
    assert find_label("Use C#", labels) == "c"


def test_label_matches_case_insensitively_beyond_ascii() -> None:
    labels = dataset_labels(["Straße", "Weg"], "label")
    assert labels == ["strasse", "weg"]
    assert score("Die STRASSE", "Straße", "label", labels) == Scored("strasse", True, False)
    assert score("die straße", "Straße", "label", labels) == Scored("strasse", True, False)


def test_label_ignores_a_blank_label() -> None:
    assert find_label("Positive", ["", "positive"]) == "positive"


def test_score_rejects_a_truth_outside_the_labels() -> None:
    with pytest.raises(ValueError, match="Maybe"):
        score("Positive", "Maybe", "exact", EXACT)
    with pytest.raises(ValueError, match="not one of the labels"):
        score("Positive", "Positive", "normalized", EXACT)  # labels not normalized


def test_score_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="Unknown scoring mode"):
        score("Positive", "Positive", "regex", EXACT)  # type: ignore[arg-type]
