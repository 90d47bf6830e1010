"""A realistic chat-format JSONL of a given size, deterministic for a seed.

Examples mix tasks the way real fine-tuning sets do: most have one of a few dozen system
prompts, one to four user/assistant turns, answers from a label to long explanations
(log-normal lengths), prose with numbers, code, URLs and non-ASCII (accents, Greek, Cyrillic,
CJK, emoji), a few `name` fields and a few exact duplicates.

    uv run python -m bench.gen_chat --mb 200 --out /tmp/chat_200mb.jsonl
"""

import argparse
import random
from itertools import accumulate
from pathlib import Path

import orjson

_WORDS_TEXT = (
    "the of and to in is you that it he was for on are as with his they at be this have from "
    "or one had by word but not what all were we when your can said there use an each which she "
    "do how their if will up other about out many then them these so some her would make like "
    "him into time has look two more write go see number no way could people my than first "
    "water been call who oil its now find long down day did get come made may part over new "
    "sound take only little work know place year live me back give most very after thing our "
    "just name good sentence man think say great where help through much before line right too "
    "mean old any same tell boy follow came want show also around form three small set put end "
    "does another well large must big even such because turn here why ask went men read need "
    "land different home us move try kind hand picture again change off play spell air away "
    "animal house point page letter mother answer found study still learn should world high "
    "customer order refund account invoice shipping delivery password reset subscription plan "
    "model training dataset token epoch loss accuracy validation label prompt completion "
    "assistant function request response server database query index latency error retry"
)
_FOREIGN_TEXT = (
    "café naïve résumé Zürich São Paulo überprüfen façade jalapeño smörgåsbord Kraków piñata "
    "Ελληνικά καλημέρα Москва привет спасибо 北京 東京 こんにちは ありがとう 안녕하세요 "
    "مرحبا שלום नमस्ते 🙂 🚀 ✅ — “quoted” … € £ ¥ ½ °C"
)
WORDS = _WORDS_TEXT.split()
FOREIGN = _FOREIGN_TEXT.split()
SNIPPETS = (
    "`def area(r): return 3.14159 * r ** 2`", "`SELECT id, total FROM orders WHERE total > 100;`",
    "https://example.com/docs/api/v2/orders?page=3", "`{\"status\": \"ok\", \"items\": [1, 2, 3]}`",
    "`for i in range(10): print(i)`", "order #A-20931", "ticket INC0041823", "+1 (415) 555-0199",
)
LABELS = ("Positive", "Negative", "Neutral", "No-Reflection", "Understanding",
          "Simple Reflection", "Critical Reflection")


ONSETS = ("b", "br", "c", "ch", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m",
          "n", "p", "pl", "pr", "qu", "r", "s", "sh", "sl", "st", "t", "th", "tr", "v", "w", "z",
          "sp", "sc", "str")
VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ou", "io", "y", "ee", "oa")
CODAS = ("", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ng", "ck", "x", "rt", "ph")
SUFFIXES = ("", "", "", "", "ing", "ed", "tion", "ness", "able", "ment", "ly", "ic", "ous", "er")


class ChatGenerator:
    """Builds examples from pools of sentences and system prompts (fast enough for 1 GB).

    Words follow a Zipf-like law: three quarters from a few hundred common words, the rest from
    a long tail of made-up words (names, jargon, typos), which tokenize into several pieces as
    real rare words do."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tail = [self._rare_word() for _ in range(30_000)]
        self.tail_weights = list(accumulate(1 / rank for rank in range(1, len(self.tail) + 1)))
        self.sentences = [self._sentence() for _ in range(20_000)]
        self.systems = [self._text(self.rng.randint(1, 5)) for _ in range(40)]
        self.classify_system = ("Classify the sentiment of the user's message as Positive, "
                                "Negative or Neutral. Answer with the label only.")

    def _rare_word(self) -> str:
        rng = self.rng
        word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
                       for _ in range(rng.choice((1, 1, 2, 2, 2, 3)))) + rng.choice(SUFFIXES)
        return word.capitalize() if rng.random() < 0.2 else word

    def _sentence(self) -> str:
        rng = self.rng
        size = rng.randint(4, 24)
        words = rng.choices(WORDS, k=size)
        rare = rng.choices(self.tail, cum_weights=self.tail_weights, k=size)
        words = [r if rng.random() < 0.25 else w for w, r in zip(words, rare, strict=True)]
        if rng.random() < 0.12:
            words.insert(rng.randrange(len(words)), rng.choice(FOREIGN))
        if rng.random() < 0.08:
            words.insert(rng.randrange(len(words)), rng.choice(SNIPPETS))
        if rng.random() < 0.15:
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 99_999)))
        words[0] = words[0].capitalize()
        return " ".join(words) + rng.choice(".....?!:")

    def _text(self, sentences: int) -> str:
        chosen = self.rng.choices(self.sentences, k=max(1, sentences))
        if sentences > 6:
            return "\n\n".join(" ".join(chosen[i:i + 4]) for i in range(0, len(chosen), 4))
        return " ".join(chosen)

    def _answer_length(self) -> int:
        return min(200, int(self.rng.lognormvariate(1.4, 0.9)) + 1)

    def example(self) -> dict[str, object]:
        rng = self.rng
        if rng.random() < 0.15:
            return {"messages": [
                {"role": "system", "content": self.classify_system},
                {"role": "user", "content": self._text(rng.randint(1, 4))},
                {"role": "assistant", "content": rng.choice(LABELS[:3])}]}
        messages: list[dict[str, str]] = []
        if rng.random() < 0.85:
            messages.append({"role": "system", "content": rng.choice(self.systems)})
        for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3, 4))):
            user = {"role": "user", "content": self._text(rng.randint(1, 6))}
            if rng.random() < 0.02:
                user["name"] = rng.choice(("alice", "bob", "support_agent"))
            messages.append(user)
            messages.append({"role": "assistant", "content": self._text(self._answer_length())})
        return {"messages": messages}


def generate(path: str | Path, size_bytes: int, seed: int = 1) -> int:
    """Write examples to path until it holds at least size_bytes; answer the example count."""
    generator = ChatGenerator(seed)
    recent: list[bytes] = []
    written = count = 0
    with open(path, "wb") as out:
        batch: list[bytes] = []
        while written < size_bytes:
            if recent and generator.rng.random() < 0.002:
                line = generator.rng.choice(recent)  # an exact duplicate, as real sets have
            else:
                line = orjson.dumps(generator.example()) + b"\n"
                if len(recent) < 1000:
                    recent.append(line)
                else:
                    recent[generator.rng.randrange(1000)] = line
            batch.append(line)
            written += len(line)
            count += 1
            if len(batch) >= 2000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, required=True, help="size in MB (10^6 bytes)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    count = generate(args.out, int(args.mb * 1e6), args.seed)
    print(f"{args.out}: {count} examples, {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
