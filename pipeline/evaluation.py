"""Clustering quality against gold labels: BCubed and pairwise precision, recall and F1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from schemas.records import StoryAssignment


@dataclass(frozen=True)
class Scores:
    """Precision, recall and their harmonic mean."""

    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0.0 else 2.0 * p * r / (p + r)


def _common_items(predicted: Mapping[str, Hashable], gold: Mapping[str, Hashable]) -> list[str]:
    return [item for item in predicted if item in gold and gold[item] is not None]


def bcubed(predicted: Mapping[str, Hashable], gold: Mapping[str, Hashable]) -> Scores:
    """BCubed precision/recall/F1 (Bagga & Baldwin) over the items both mappings label.

    Args:
        predicted: item -> predicted cluster.
        gold: item -> gold class (items whose class is None are ignored).
    """
    items = _common_items(predicted, gold)
    if not items:
        return Scores(0.0, 0.0, 0.0)
    both = Counter((predicted[i], gold[i]) for i in items)
    pred_size = Counter(predicted[i] for i in items)
    gold_size = Counter(gold[i] for i in items)
    p = r = 0.0
    for (c, g), n in both.items():
        # each of the n items in the cell has n same-cluster-same-class items (itself included)
        p += n * n / pred_size[c]
        r += n * n / gold_size[g]
    p /= len(items)
    r /= len(items)
    return Scores(p, r, _f1(p, r))


def pairwise(predicted: Mapping[str, Hashable], gold: Mapping[str, Hashable]) -> Scores:
    """Pairwise precision/recall/F1: over unordered item pairs put together.

    Precision is 1 when no pair is predicted together, recall is 1 when no gold pair exists.
    """
    items = _common_items(predicted, gold)
    both = Counter((predicted[i], gold[i]) for i in items)
    pred_size = Counter(predicted[i] for i in items)
    gold_size = Counter(gold[i] for i in items)

    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    tp = sum(pairs(n) for n in both.values())
    pp = sum(pairs(n) for n in pred_size.values())
    gp = sum(pairs(n) for n in gold_size.values())
    p = tp / pp if pp else 1.0
    r = tp / gp if gp else 1.0
    return Scores(p, r, _f1(p, r))


def cluster_count(labels: Mapping[str, Hashable]) -> int:
    """Number of distinct non-null labels."""
    return len({v for v in labels.values() if v is not None})


@dataclass
class FinalStories:
    """Each article's story at the end of a replay, following merges and splits.

    An assignment names the article's story when it arrived; later assignments may absorb
    that story into another (``merged_from``) or move the article to a new story (``split``).
    """

    story_at: dict[str, str] = field(default_factory=dict)
    merged_into: dict[str, str] = field(default_factory=dict)

    def add(self, assignment: StoryAssignment) -> None:
        for absorbed in assignment.merged_from:
            self.merged_into[absorbed] = assignment.story_id
        split = assignment.split
        if split is not None:
            self.story_at.update(dict.fromkeys(split.article_ids, split.new_story_id))
        self.story_at[assignment.article.id] = assignment.story_id

    def final(self, story_id: str) -> str:
        """The story that ``story_id`` ended up in (itself unless absorbed)."""
        seen = set()
        while story_id in self.merged_into and story_id not in seen:
            seen.add(story_id)
            story_id = self.merged_into[story_id]
        return story_id

    def stories(self) -> dict[str, str]:
        """Article id -> final story id."""
        return {a: self.final(s) for a, s in self.story_at.items()}
