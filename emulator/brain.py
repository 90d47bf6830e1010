"""What the emulated models answer.

A fine-tuned model behaves like a model that learned its data: a request equal to a training
prompt gets that example's answer; otherwise the nearest training examples (idf-weighted word
overlap) vote with their answers. A base model answers deterministically but worse: a hash picks
either a word it can see in the prompt or a verbose sentence.
"""

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

WORD = re.compile(r"\w+")
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "for", "from", "has",
    "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of",
    "on", "or", "our", "so", "that", "the", "their", "them", "there", "these", "they", "this",
    "to", "was", "we", "what", "when", "which", "who", "will", "with", "would", "you", "your"})
COMMON_SHARE = 0.5  # words in more than half of the examples do not tell them apart
NEIGHBOURS = 5


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


def words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOPWORDS}


class Brain:
    """The memory of a fine-tuned model: its training examples, indexed by word."""

    def __init__(self, examples: Sequence[tuple[str, str]]) -> None:
        self.answers = [answer for _, answer in examples]
        self.exact: dict[str, str] = {}
        for prompt, answer in examples:
            self.exact.setdefault(normalize(prompt), answer)
        bags = [words(prompt) for prompt, _ in examples]
        df = Counter(w for bag in bags for w in bag)
        n = max(1, len(bags))
        self.idf = {w: math.log(n / c) + 0.01 for w, c in df.items() if c <= COMMON_SHARE * n}
        self.index: dict[str, list[int]] = defaultdict(list)
        self.norms = [0.0] * len(bags)
        for i, bag in enumerate(bags):
            for w in bag:
                if w in self.idf:
                    self.index[w].append(i)
                    self.norms[i] += self.idf[w] ** 2
        self.norms = [math.sqrt(x) or 1.0 for x in self.norms]
        self.prior = Counter(self.answers).most_common(1)[0][0] if self.answers else ""

    def answer(self, prompt: str) -> str:
        """A learned answer; the most common answer when nothing overlaps."""
        known = self.exact.get(normalize(prompt))
        if known is not None:
            return known
        scores: dict[int, float] = defaultdict(float)
        for w in words(prompt):
            weight = self.idf.get(w)
            if weight is not None:
                for i in self.index[w]:
                    scores[i] += weight * weight
        if not scores:
            return self.prior
        nearest = sorted(scores, key=lambda i: (-scores[i] / self.norms[i], i))[:NEIGHBOURS]
        votes: dict[str, float] = defaultdict(float)
        for i in nearest:
            votes[self.answers[i]] += scores[i] / self.norms[i]
        return max(votes, key=lambda answer: votes[answer])


TEMPLATES = (
    ("Thanks for your message! Based on what you wrote, I think this is mostly about {word}, "
     "although I would need a little more context to give you a definitive answer."),
    ("That's an interesting question. In general it depends on several factors, {word} being "
     "one of them; could you tell me more about what you need?"),
    ("Here is my take: {word}. Let me know if you would like a more detailed explanation or "
     "some examples."),
)


def base_answer(model: str, prompt: str, system: str) -> str:
    """A plausible, deterministic and usually unhelpful answer from a model that was not tuned."""
    digest = hashlib.sha256(f"{model}\n{prompt}".encode()).digest()
    seen = sorted(w for w in words(system or prompt) if len(w) > 3 and not w.isdigit())
    if seen and digest[0] < 90:
        return seen[digest[1] % len(seen)].capitalize()
    word = seen[digest[2] % len(seen)] if seen else "your question"
    return TEMPLATES[digest[3] % len(TEMPLATES)].format(word=word)
