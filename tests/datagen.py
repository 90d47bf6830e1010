"""Deterministic test files: the coded-reflections CSV, legacy prompt_completion and chat JSONL."""

import csv
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FINAL_SHARES = {"1": 45, "2": 30, "3": 17, "4": 8}  # percent: the class imbalance of the study
LEVELS = {"1": "No-Reflection", "2": "Understanding", "3": "Simple Reflection",
          "4": "Critical Reflection"}
SYSTEM = ("Define the best level for reflection based on the level definitions and the question. "
          "Answer with one of: No-Reflection, Understanding, Simple Reflection, "
          "Critical Reflection.")
USER_TEMPLATE = 'Question: """{Question}"""\nReflection: """{Answers}"""'

_QUESTIONS = [
    "What did you learn from this week's lab?",
    "How would you change your approach next time?",
    "Which step surprised you, and why?",
    "Describe a mistake you made and what it taught you.",
]
_MESSY_QUESTIONS = [
    "Qu'avez-vous appris cette semaine ? (café, élève)",
    "What does 漢字 practice teach you about memory?",
    'Explain "deliberate practice", in your own words.',
]
_WORDS = [
    "I", "think", "the", "experiment", "went", "well", "but", "should", "have", "checked",
    "data", "first", "and", "results", "suggest", "that", "my", "assumptions", "were", "partly",
    "wrong", "because", "method", "needed", "more", "care", "next", "time", "will", "plan",
]
_MESSY_ANSWERS = [
    'He said "yes", then we stopped',
    "First line\nsecond line, with a comma\n\nthird after a blank line",
    "Résumé: naïve café, 漢字 and an emoji 🙂",
    "Quotes '' and \"\" and a tab\there",
    "  padded with spaces  ",
    "semi;colons|pipes\tand, commas",
]


@dataclass
class ReflectionsCsv:
    path: Path
    rows: int
    records: list[dict[str, str]]  # exactly as written, before any stripping
    empty_answers: list[int]  # data-row numbers (1-based) whose Answers is blank
    finals: dict[str, int]  # Final (stripped) → rows, over all rows

    def finals_converted(self) -> dict[str, int]:
        """Final → rows over the rows a conversion with on_empty 'skip' keeps."""
        empty = set(self.empty_answers)
        return dict(Counter(r["Final"].strip() for i, r in enumerate(self.records, 1)
                            if i not in empty))


def reflections_csv(path: Path, rows: int = 200, seed: int = 1, *, messy: bool = True
                    ) -> ReflectionsCsv:
    """Write a Question,Answers,Final CSV; messy adds a BOM, CRLF, quoting, non-ASCII, blanks."""
    rng = random.Random(seed)
    finals = _apportion(rows, FINAL_SHARES)
    rng.shuffle(finals)
    empty = set(rng.sample(range(1, rows + 1), max(2, rows * 3 // 100))) if messy else set()
    records = []
    for row, final in enumerate(finals, 1):
        questions = _QUESTIONS + (_MESSY_QUESTIONS if messy else [])
        answer = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(5, 30)))
        if messy and row % 7 == 0:
            answer = rng.choice(_MESSY_ANSWERS) + " " + answer
        if row in empty:
            answer = rng.choice(["", "   ", "\t"])
        if messy and row % 11 == 0:
            final = f" {final} "
        records.append({"Question": rng.choice(questions), "Answers": answer, "Final": final})
    with path.open("w", encoding="utf-8-sig" if messy else "utf-8", newline="") as f:
        writer = csv.DictWriter(f, ["Question", "Answers", "Final"],
                                lineterminator="\r\n" if messy else "\n")
        writer.writeheader()
        writer.writerows(records)
    return ReflectionsCsv(path, rows, records, sorted(empty),
                          dict(Counter(r["Final"].strip() for r in records)))


@dataclass
class PromptCompletionJsonl:
    path: Path
    pairs: list[tuple[str, str]]  # (prompt, completion) without separator, stop or spaces
    labels: dict[str, int]


def prompt_completion_jsonl(path: Path, rows: int = 50, seed: int = 1, *,
                            separator: str = "\n\n###\n\n", stop: str = " END"
                            ) -> PromptCompletionJsonl:
    """Write legacy {"prompt", "completion"} lines the way OpenAI's old guide prescribed."""
    rng = random.Random(seed)
    labels = _apportion(rows, FINAL_SHARES)
    rng.shuffle(labels)
    pairs = []
    with path.open("w", encoding="utf-8") as f:
        for i, final in enumerate(labels):
            prompt = f"Reflection {i}: " + " ".join(rng.choice(_WORDS) for _ in range(8))
            if i % 5 == 0:
                prompt += ' — "quoted", 漢字'
            completion = LEVELS[final]
            pairs.append((prompt, completion))
            line = {"prompt": prompt + separator, "completion": " " + completion + stop}
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    return PromptCompletionJsonl(path, pairs, dict(Counter(c for _, c in pairs)))


def chat_jsonl(path: Path, labels: Sequence[str], *, system: str | None = SYSTEM) -> Path:
    """Write one chat example per label, each with a distinct user message."""
    with path.open("w", encoding="utf-8") as f:
        for i, label in enumerate(labels):
            messages = [{"role": "user", "content": f"example {i}"},
                        {"role": "assistant", "content": label}]
            if system is not None:
                messages.insert(0, {"role": "system", "content": system})
            f.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
    return path


def _apportion(rows: int, shares: dict[str, int]) -> list[str]:
    """rows labels in the given percent shares, by largest remainder."""
    exact = {k: rows * v / sum(shares.values()) for k, v in shares.items()}
    counts = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: counts[k] - exact[k])[:rows - sum(counts.values())]:
        counts[k] += 1
    return [k for k, n in counts.items() for _ in range(n)]
