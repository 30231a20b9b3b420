"""How alike two short texts are, for Chinese and English alike, without a word segmenter.

Chinese is written without spaces, so texts are cut into overlapping character pairs (bigrams):
"用电增容" gives 用电, 电增, 增容, and two texts about the same thing share most of their pairs
whatever words a segmenter would have found. Single characters count too, so that "缺电" still
meets "用电" (a paraphrase shares characters before it shares pairs). Latin letters and digits
are cut into words.
Each text becomes a TF-IDF vector over those terms (idf from the texts being compared, so pairs
every text has, such as 企业 or 问题, count for little) and texts are ranked by cosine.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = frozenset(
    {"a", "an", "and", "the", "of", "to", "in", "on", "for", "with", "is", "our"}
)


@dataclass(frozen=True, slots=True)
class Scored(Generic[T]):
    item: T
    score: float


def terms(text: str) -> Counter[str]:
    """The text's terms: Chinese characters and character bigrams, and Latin words."""
    normal = unicodedata.normalize("NFKC", text).lower()
    found: Counter[str] = Counter()
    for run in _HAN.findall(normal):
        found.update(run)
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    for word in _WORD.findall(normal):
        if word not in _STOP_WORDS and (len(word) > 1 or word.isdigit()):
            found[_stem(word)] += 1
    return found


def _stem(word: str) -> str:
    """Plural and verb endings off, so that "payments" meets "payment" and "delayed" "delay"."""
    for ending in ("ing", "ed", "es", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3 and not word.endswith("ss"):
            return word[: -len(ending)]
    return word


def rank(
    query: str,
    documents: Sequence[tuple[T, str]],
    *,
    limit: int,
    minimum: float,
) -> list[Scored[T]]:
    """The documents most like ``query``, best first: at most ``limit``, each scoring at
    least ``minimum`` (cosine of TF-IDF vectors, 0 to 1)."""
    wanted = terms(query)
    if not wanted or not documents:
        return []
    bags = [terms(text) for _, text in documents]
    idf = _idf([wanted, *bags])
    target = _weights(wanted, idf)
    scored = [
        Scored(item, _cosine(target, _weights(bag, idf)))
        for (item, _), bag in zip(documents, bags, strict=True)
    ]
    kept = [s for s in scored if s.score >= minimum]
    kept.sort(key=lambda s: s.score, reverse=True)
    return kept[:limit]


def _idf(bags: Iterable[Counter[str]]) -> dict[str, float]:
    frequency: Counter[str] = Counter()
    count = 0
    for bag in bags:
        frequency.update(bag.keys())
        count += 1
    return {term: math.log((1 + count) / (1 + seen)) + 1 for term, seen in frequency.items()}


def _weights(bag: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    weights = {term: (1 + math.log(n)) * idf[term] for term, n in bag.items()}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {term: w / norm for term, w in weights.items()} if norm else {}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(b) < len(a):
        a, b = b, a
    return sum(w * b.get(term, 0.0) for term, w in a.items())
