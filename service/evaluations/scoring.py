"""Score one model output against its ground truth, as pure functions.

An evaluation's *labels* are the dataset's distinct ground truths (the last
assistant message of each example): the answers as written in ``exact`` mode,
their :func:`normalize` forms in ``normalized`` and ``label`` modes (so
``"Neutral"`` and ``"Neutral."`` are one label, ``"neutral"``).

Each mode turns an output into a :class:`Scored`:

``exact``
    The output as-is is the prediction; it is correct when it equals the truth
    character for character. An output that is no label (``None``, ``""``
    unless ``""`` is a label, anything else) is *invalid*: still reported as the
    prediction, but counted in the confusion matrix's invalid column.
``normalized``
    The prediction is ``normalize(output)``; correct when it equals
    ``normalize(truth)``; invalid when it is no label (or the output is ``None``).
``label``
    The prediction is the one label the output mentions: labels are searched
    case-insensitively as whole words or phrases (whitespace runs match any
    whitespace), and an occurrence lying inside a longer label's occurrence does
    not count, so "No-Reflection" does not also mention "Reflection". Exactly
    one distinct label mentioned (any number of times) is the prediction; none
    or several make the output invalid, with no prediction (``None``).
    Negations are not understood: "not Positive" mentions "positive".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

ScoringMode = Literal["exact", "normalized", "label"]
MODES: tuple[ScoringMode, ...] = ("exact", "normalized", "label")

# Quotes are stripped at both ends: models often answer '"Positive".'
_QUOTES = "\"'`“”‘’«»"
_TRAILING = ".!?,;:" + _QUOTES
# A hyphen joins words ("non-positive", "No-Reflection"), so it is not a boundary.
_WORD = r"[\w-]"


@dataclass(frozen=True, slots=True)
class Scored:
    """One scored output: the prediction, whether it is right, whether it is a label."""

    predicted_label: str | None
    correct: bool
    invalid: bool


def normalize(text: str) -> str:
    """Casefold, collapse whitespace, strip surrounding quotes and trailing punctuation.

    Exactly: ``str.casefold()``; every whitespace run becomes one space and
    surrounding whitespace goes; then, repeatedly, leading quotes and whitespace
    and trailing ``. ! ? , ; :``, quotes and whitespace are removed. Quotes are
    ``" ' ` “ ” ‘ ’ « »``. Inner punctuation stays: ``"U.S.A."`` becomes ``"u.s.a"``.
    """
    text = " ".join(text.casefold().split())
    while True:
        stripped = text.lstrip(_QUOTES + " ").rstrip(_TRAILING + " ")
        if stripped == text:
            return text
        text = stripped


def truth_label(truth: str, mode: ScoringMode) -> str:
    """The label a ground-truth answer stands for in this mode."""
    _check_mode(mode)
    return truth if mode == "exact" else normalize(truth)


def dataset_labels(truths: Iterable[str], mode: ScoringMode) -> list[str]:
    """The sorted distinct labels of a dataset's ground-truth answers in this mode."""
    return sorted({truth_label(truth, mode) for truth in truths})


def score(output: str | None, truth: str, mode: ScoringMode, labels: Sequence[str]) -> Scored:
    """Score one output; ``labels`` are the dataset's labels in this mode and hold the truth's."""
    expected = truth_label(truth, mode)
    known = set(labels)
    if expected not in known:
        raise ValueError(f"The ground truth {truth!r} is not one of the labels.")
    if output is None:
        return Scored(None, False, True)
    if mode == "exact":
        predicted: str | None = output
    elif mode == "normalized":
        predicted = normalize(output)
    else:
        predicted = find_label(output, labels)
    invalid = predicted is None or predicted not in known
    return Scored(predicted, not invalid and predicted == expected, invalid)


def find_label(output: str, labels: Sequence[str]) -> str | None:
    """The one label ``output`` mentions as a whole word or phrase, or None if none or several."""
    text = output.casefold()
    matches = [
        (found.start(), found.end(), label)
        for label in dict.fromkeys(labels)
        if label.strip()
        for found in _label_pattern(label).finditer(text)
    ]
    mentioned = _outermost_labels(matches)
    return mentioned.pop() if len(mentioned) == 1 else None


def _outermost_labels(matches: list[tuple[int, int, str]]) -> set[str]:
    """Labels with an occurrence that lies inside no strictly longer occurrence."""
    labels: set[str] = set()
    reach, reach_start = -1, -1  # furthest end so far, and the first start reaching it
    for start, end, label in sorted(matches, key=lambda match: (match[0], -match[1])):
        if not (reach > end or (reach == end and reach_start < start)):
            labels.add(label)
        if end > reach:
            reach, reach_start = end, start
    return labels


@lru_cache(maxsize=4096)
def _label_pattern(label: str) -> re.Pattern[str]:
    words = label.casefold().split()
    body = r"\s+".join(re.escape(word) for word in words)
    # Boundaries only where the label itself starts or ends with a word character.
    before = rf"(?<!{_WORD})" if re.match(_WORD, words[0][0]) else ""
    after = rf"(?!{_WORD})" if re.match(_WORD, words[-1][-1]) else ""
    return re.compile(before + body + after)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"Unknown scoring mode {mode!r}; expected one of {', '.join(MODES)}.")
