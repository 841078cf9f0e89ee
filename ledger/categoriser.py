"""The learned categoriser: multinomial naive Bayes from a household's own history.

Features are the tokens of the merchant and the description (lower-cased words of two or
more letters, digits dropped: card numbers and store numbers say nothing), the merchant
as a whole, the kind of entry and a coarse amount band. The confidence of a suggestion is
the posterior probability of the best category, so 0.9 means "nine times in ten".
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

WORD = re.compile(r"[^\W\d_]{2,}")
ALPHA = 0.5  # additive smoothing


@dataclass(frozen=True, slots=True)
class Example:
    description: str
    merchant: str | None
    kind: str
    amount: Decimal | None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    category: str
    confidence: float


def features(example: Example) -> list[str]:
    found = [f"w:{w}" for w in WORD.findall(example.description.casefold())]
    if example.merchant:
        merchant = example.merchant.casefold()
        found += [f"m:{w}" for w in WORD.findall(merchant)]
        found.append(f"M:{' '.join(WORD.findall(merchant))}")
    found.append(f"k:{example.kind}")
    if example.amount is not None and example.amount > 0:
        found.append(f"a:{int(math.log2(float(example.amount)))}")
    return found


class NaiveBayes:
    """Trained once from examples, then asked for suggestions (thread-safe: read-only)."""

    def __init__(self, examples: Iterable[Example]) -> None:
        self.documents: Counter[str] = Counter()
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        for example in examples:
            if example.category is None:
                continue
            self.documents[example.category] += 1
            self.counts[example.category].update(features(example))
        self.vocabulary = {f for c in self.counts.values() for f in c}
        self.totals = {c: sum(n.values()) for c, n in self.counts.items()}
        self.size = sum(self.documents.values())

    def __len__(self) -> int:
        return self.size

    def suggest(self, example: Example, top: int = 3) -> list[Suggestion]:
        """The ``top`` most likely categories, best first; empty before any training."""
        if not self.size:
            return []
        tokens = [f for f in features(example) if f in self.vocabulary]
        v = len(self.vocabulary)
        scores = {}
        for category, n in self.documents.items():
            counts, total = self.counts[category], self.totals[category]
            score = math.log(n / self.size)
            for token in tokens:
                score += math.log((counts[token] + ALPHA) / (total + ALPHA * v))
            scores[category] = score
        best = max(scores.values())
        weights = {c: math.exp(s - best) for c, s in scores.items()}
        norm = sum(weights.values())
        ranked = sorted(weights.items(), key=lambda cw: (-cw[1], cw[0]))[:top]
        return [Suggestion(c, w / norm) for c, w in ranked]


@dataclass(frozen=True, slots=True)
class Evaluation:
    trained_on: int
    tested_on: int
    accuracy: float  # share of the test set whose best suggestion was right
    coverage: float  # share with a suggestion at or above the threshold
    precision_at_threshold: float  # accuracy among those
    threshold: float


def evaluate(train: list[Example], test: list[Example], threshold: float) -> Evaluation:
    model = NaiveBayes(train)
    right = confident = confident_right = 0
    for example in test:
        suggestions = model.suggest(example, top=1)
        if not suggestions:
            continue
        hit = suggestions[0].category == example.category
        right += hit
        if suggestions[0].confidence >= threshold:
            confident += 1
            confident_right += hit
    n = max(len(test), 1)
    return Evaluation(
        trained_on=len(model),
        tested_on=len(test),
        accuracy=right / n,
        coverage=confident / n,
        precision_at_threshold=confident_right / max(confident, 1),
        threshold=threshold,
    )
