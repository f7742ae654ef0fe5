"""Story assignment: online, single-pass clustering of articles into stories, in event time."""

from __future__ import annotations

import heapq
import math
import re
from array import array
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, fields
from itertools import chain
from operator import mul
from sys import intern
from typing import Any, NamedTuple

import numpy as np
import orjson

from pipeline.assignment import sorted_vectors
from pipeline.assignment.doc_freq import DocumentFrequencies
from pipeline.assignment.sorted_vectors import EMPTY, SortedVector
from pipeline.assignment.splits import row_cosines, split_by_cosines
from pipeline.common.jsonbytes import json_bytes
from pipeline.common.memos import DeliveryMemos
from pipeline.common.text import STOPWORDS, WORD_RE, stable_hash
from pipeline.dedup.minhash import key_ids
from schemas.records import Article, ArticleTerms, DedupVerdict, StoryAssignment, StorySplit

# A capitalized phrase: capitalized words, optionally joined by "of"/"de"/"the"/... . Periods
# end a phrase, so "Mr. Hale" gives "Mr" (a title, dropped) and "Hale".
_CAP_WORD = r"[A-Z][\w'’\-]*"
_CAP_PHRASE = re.compile(
    _CAP_WORD + r"(?:[ \t]+(?:(?:of|de|del|al|von|van|la|le|the)[ \t]+)?" + _CAP_WORD + r")*"
)
_TITLES = frozenset(re.split(r"\s+", "mr mrs ms dr st gen sen rep gov lt col sgt prof capt det"))
_CALENDAR = frozenset(
    re.split(
        r"\s+",
        "monday tuesday wednesday thursday friday saturday sunday january february march "
        "april may june july august september october november december jan feb mar apr "
        "jun jul aug sep sept oct nov dec today yesterday",
    )
)
_NOT_NAMES = STOPWORDS | _TITLES | _CALENDAR

#: Names of the features the decision model sees, in order (see :meth:`StoryAssigner.features`).
#: All vectors are TF-IDF with IDF learned from the stream so far, unit length.
#:
#: - ``cos_centroid``: cosine of the article's word vector (title words count double, first
#:   ``max_body_chars`` of the body) with the story's centroid (sum of its members' vectors).
#: - ``cos_entities``: the same over capitalized phrases and their words (names, places).
#: - ``cos_title``: title words against the story's title centroid (0 without titles).
#: - ``has_titles``: 1 when both sides have titles, so the model can trust ``cos_title``.
#: - ``log_gap_days``: log(1 + days) between the article and the story's time span, in
#:   event time or in stream time (see ``ClusterConfig.max_clock_step``), whichever is less.
#: - ``same_outlet_recent``: the article's outlet already wrote into the story within
#:   ``same_outlet_seconds`` (outlets rarely file twice on one event within minutes).
#: - ``log_story_size``: log(1 + articles in the story).
#: - ``cos_rank_margin``: this candidate's centroid cosine minus the best other candidate's
#:   (0 when none): how clearly the article points at one story.
#: - ``cos_lede``: title plus opening words against the story's lede centroid (the lede names
#:   the event; later paragraphs often recount shared background).
#: - ``article_names_missing``: share of the article's three heaviest names absent from the
#:   story; ``story_names_missing``: share of the story's three heaviest names absent from
#:   the article (different protagonists mean a different event of the same kind).
#: - ``numbers_shared``: 1 when a number in the article's title or opening words also opens
#:   a report already in the story (ages, tolls, scores and sums recur across reports of one
#:   event); ``numbers_disjoint``: 1 when both sides open with numbers and none is shared.
#:   Four-digit years are left out: a year recurs across many events.
#: - ``ages_shared``: 1 when an age the article gives a person ("a 25-year-old", "aged 25",
#:   "John Hale, 25,") is also given in the story; ``ages_disjoint``: 1 when both give ages
#:   and none is shared. Same-kind incidents (two shootings in one city) differ in their
#:   victims' ages far more often than in their places or words.
#: - ``log_gap_rhythm``: log(1 + gap / (1 day + the story's mean time between articles)): a
#:   gap judged against the story's own rhythm (a burst of reports one day apart, or a
#:   running story with a report a week).
FEATURE_NAMES: tuple[str, ...] = (
    "cos_centroid",
    "cos_entities",
    "cos_title",
    "has_titles",
    "log_gap_days",
    "same_outlet_recent",
    "log_story_size",
    "cos_rank_margin",
    "cos_lede",
    "article_names_missing",
    "story_names_missing",
    "numbers_shared",
    "numbers_disjoint",
    "log_gap_rhythm",
    "ages_shared",
    "ages_disjoint",
)


_MARGIN = FEATURE_NAMES.index("cos_rank_margin")


@dataclass(frozen=True)
class ClusterConfig:
    """Tuning values of story assignment; the defaults are the project's one configuration.

    Attributes:
        dormant_after_seconds: stream-time inactivity (see ``max_clock_step``) after which a
            story leaves the candidate index (it keeps its articles and wakes up if a copy of
            one of them arrives).
        max_clock_step: the stream clock, which judges gaps and dormancy, moves with the
            watermark but at most this far per step: a live feed never stops for a day, so
            there the clock is event time, while a stream with a quiet year (a corpus whose
            datelines are a year off, a feed restarted after an outage) counts it as one step.
        dormant_terms: when above 0, a dormant story keeps only this many heaviest entries
            per vector. Off by default: on the speed benchmark's stream, when story vectors
            were dictionaries, cutting saved about 60 MB per 50,000 articles but cost the
            late windows 7% of their speed; as sorted arrays, 50 terms save 14 of the
            state's 170 MiB at no measurable cost. A story woken after a cut goes on with
            the cut vectors.
        recall_max_posting: a dormant story stays findable by the names it is indexed under
            (a later report on a shooting names its victim or suspect months later); a name
            listed for more dormant stories than this is too common to find one (a city) and
            is dropped from that index. 0 turns the lookup off.
        recall_candidates: the dormant stories two or more of the article's names find, best
            first, that join the candidates, scored like the others (their gap weighs against
            them).
        recall_seconds: stream time a dormant story stays findable by its names; after it,
            only a copy of one of its articles wakes it (so the names held in memory follow a
            window of the stream, not its whole history).
        title_weight: how many body occurrences one title occurrence of a word counts for.
        max_body_chars: only the start of the body is read (the lede and first paragraphs
            carry the story; the cost per article stays bounded).
        lede_tokens: the opening words of the body that, with the title, form the lede
            vector (the lede names the event; the rest often recounts background).
        entity_chars: names are looked for in the title and this much of the body.
        max_article_terms: an article vector keeps its heaviest terms only (speed, noise).
        max_article_entities: the same for its capitalized-phrase vector.
        max_story_terms: a story centroid keeps its heaviest terms only (bounded memory: it
            is cut back to this many whenever it reaches twice as many).
        max_story_entities: a story's entity centroid keeps its heaviest entries only.
        index_terms: heaviest terms of each joining article under which its story is listed
            in the candidate index.
        index_entities: heaviest entities of each joining article listed likewise.
        max_index_terms: most index entries per story.
        query_terms: heaviest article terms looked up in the index.
        query_entities: heaviest article entities looked up in the index.
        max_posting: a query term listed for more active stories than this is too common to
            tell stories apart and is skipped (this bounds the lookup cost per article).
        max_candidates: stories retrieved per article (best index accumulations); each gets
            the cheap centroid cosine.
        max_scored: candidates, best by centroid cosine, that get the full model.
        second_cosine_share: a candidate after the best gets the full model only when its
            centroid cosine is at least this share of the best's. Below half, the second
            candidate never won a join over the best in about 8,800 decisions (the dev
            corpora and 8,000 articles of the speed benchmark's stream), so its features
            would be computed for nothing (in that stream, three articles in four with two
            candidates skip them).
        same_outlet_seconds: window of the "same outlet wrote into this story" signal.
        answer_memo_seconds: an answer is kept to be given again to a redelivery of its
            article until the watermark has moved this far past where it stood when the
            answer was given (a redelivery comes within a batch or two of the first delivery);
            after that a redelivered article gets its story without the first answer's flags.
        max_story_numbers: a story stops collecting opening numbers (and, apart, ages) once it
            holds this many.
        df_buckets: document frequencies are counted per bucket of the terms' stable ids
            (a power of two). Terms sharing a bucket share a count; with 4M buckets and a
            vocabulary of 100k terms about 2% of the terms share one, mostly with a rare term.
            A flat array read by the ids the dedup stage sends replaces a dictionary lookup
            per term, which dominated the assign stage's time.
        weights: logistic coefficients, one per name in :data:`FEATURE_NAMES`.
        bias: logistic intercept.
        join_probability: an article joins its best candidate when the model's probability
            reaches this value; otherwise it starts a new story.
        merge_probability: a second candidate at or above this probability, whose centroid
            also matches the chosen story, is merged into it.
        merge_centroid_cosine: centroid cosine two stories need to be merged.
        related_cosine: centroid cosine between an article and another candidate story at
            which that story and the article's story are linked as related.
        max_group_size: related groups do not grow past this many stories by linking (keeps
            groups meaningful and the cost of listing them bounded).
        split_sizes: story sizes (articles with their own vectors) at which the story is
            checked for telling two events as one (see :mod:`pipeline.assignment.splits`). A story
            keeps its articles' vectors until it outgrows the last size, asleep or awake.
        split_min_side: fewest articles on either side of a split.
        split_max_ratio: a split stands when the two sides resemble each other less than this
            share of how much each side's articles resemble one another.
        split_min_within: ... and when the sides' own mean cosine is at least this.
        split_terms: the split compares each article's heaviest terms only (as good as all
            50 on the dev corpora, at less cost; 15 lose ECB+ splits).
    """

    dormant_after_seconds: float = 30 * 86400.0
    max_clock_step: float = 86400.0
    recall_max_posting: int = 8
    recall_candidates: int = 1
    recall_seconds: float = 90 * 86400.0
    dormant_terms: int = 0
    title_weight: float = 2.0
    max_body_chars: int = 2000
    lede_tokens: int = 70
    entity_chars: int = 2000
    max_article_terms: int = 50
    max_article_entities: int = 40
    max_story_terms: int = 200
    max_story_entities: int = 100
    index_terms: int = 8
    index_entities: int = 4
    max_index_terms: int = 160
    query_terms: int = 12
    query_entities: int = 6
    max_posting: int = 80
    max_candidates: int = 4
    max_scored: int = 2
    second_cosine_share: float = 0.5
    same_outlet_seconds: float = 3600.0
    answer_memo_seconds: float = 14 * 86400.0
    max_story_numbers: int = 64
    df_buckets: int = 1 << 22
    weights: tuple[float, ...] = (
        -4.1914,  # cos_centroid
        1.5587,  # cos_entities
        0.8986,  # cos_title
        0.5334,  # has_titles
        -1.0648,  # log_gap_days
        -1.0,  # same_outlet_recent (prior, not fitted: dates only)
        -0.2697,  # log_story_size
        10.0697,  # cos_rank_margin
        2.2536,  # cos_lede
        -1.1138,  # article_names_missing
        -2.711,  # story_names_missing
        0.6053,  # numbers_shared
        0.0567,  # numbers_disjoint
        0.4,  # log_gap_rhythm
        0.6835,  # ages_shared
        -0.8966,  # ages_disjoint
    )
    bias: float = 1.7389
    join_probability: float = 0.5
    merge_probability: float = 0.5
    merge_centroid_cosine: float = 0.5
    related_cosine: float = 0.16
    max_group_size: int = 50
    split_sizes: tuple[int, ...] = (8, 16, 32, 64)
    split_min_side: int = 3
    split_max_ratio: float = 0.5
    split_min_within: float = 0.2
    split_terms: int = 30


def _heaviest(weights: np.ndarray, keep: int) -> np.ndarray:
    """Positions of the ``keep`` heaviest weights, heaviest first (ties: in their order)."""
    return np.argsort(-weights, kind="stable")[:keep]


def _heaviest_of(weights: np.ndarray, positions: list[int], keep: int) -> np.ndarray:
    """The ``keep`` heaviest of ``positions`` in ``weights``, heaviest first (ties: in order).

    When there are no more than ``keep`` positions, all of them, in their order: the order of
    an article's entries does not matter to their users, and the sort is spared.
    """
    at = np.array(positions, np.intp)
    if len(positions) <= keep:
        return at
    return at[_heaviest(weights[at], keep)]


class _Entries(NamedTuple):
    """An article's words or names with their unit weights, heaviest first.

    The candidate index is queried with, and filled from, the first entries; the vectors
    compared with stories and summed into them are the same entries sorted by term id
    (:class:`~pipeline.assignment.sorted_vectors.SortedVector`). A list and a flat array keep an
    article held for split checks small and quick to free.
    """

    keys: list[str]
    weights: array


_NO_ENTRIES = _Entries([], array("d"))


def _unit_entries(keys: list[str], weights: np.ndarray, order: np.ndarray) -> _Entries:
    """Unit vector of the entries at ``order`` (see :func:`_heaviest`), in that order.

    The norm is summed in that order too, so the values are the same on every run.
    """
    picked = weights[order]
    vals = picked.tolist()
    norm = math.sqrt(sum(map(mul, vals, vals)))
    if norm == 0.0:
        return _NO_ENTRIES
    unit = array("d")
    unit.frombytes((picked / norm).tobytes())
    return _Entries(list(map(keys.__getitem__, order.tolist())), unit)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


_TOP_NAMES = 3


def _missing(names: np.ndarray, other: SortedVector) -> float:
    """Share of ``names`` (name ids) absent from ``other`` (0 when there are no names)."""
    if not len(names):
        return 0.0
    return (len(names) - sorted_vectors.count_in(other, names)) / len(names)


#: A story's vectors with the fields of their norms. A story's record writes each vector as
#: ``<vector>_ids`` and ``<vector>_weights``.
_STORY_VECTORS = (
    ("centroid", "c_norm"),
    ("entities", "e_norm"),
    ("title", "t_norm"),
    ("lede", "l_norm"),
)
#: Most entries a story's title and lede vectors keep (cut back on reaching twice as many).
_STORY_TITLE_TERMS = 100
_STORY_LEDE_TERMS = 150


def _story_keeps(cfg: ClusterConfig) -> tuple[int, int, int, int]:
    """How many entries each of :data:`_STORY_VECTORS` keeps, in that order."""
    return (cfg.max_story_terms, cfg.max_story_entities, _STORY_TITLE_TERMS, _STORY_LEDE_TERMS)


def _cosine(article: SortedVector, story: SortedVector, story_norm: float) -> float:
    """Cosine of a unit article vector with a story vector of norm ``story_norm``."""
    if story_norm == 0.0:
        return 0.0
    return sorted_vectors.dot(article, story) / story_norm


def _opening_numbers(tokens: Iterable[str]) -> frozenset[str]:
    """The numbers among an article's title and opening tokens, four-digit years left out."""
    return frozenset(
        t for t in filter(str.isdigit, tokens) if not (len(t) == 4 and t.startswith(("19", "20")))
    )


_AGE = re.compile(r"\b(\d{1,3})[- ]years?[- ]old\b|\baged? (\d{1,3})\b|[A-Za-z], (\d{1,2}),")


def person_ages(text: str) -> list[str]:
    """Ages the text gives people ("a 25-year-old", "aged 25", "John Hale, 25,"), sorted."""
    return sorted({a or b or c for a, b, c in _AGE.findall(text)})


def _add_numbers(counts: dict[str, int], numbers: Iterable[str], cap: int) -> None:
    """Count ``numbers`` into a story's opening numbers, unless it already holds ``cap``."""
    if len(counts) < cap:
        for n in numbers:
            counts[n] = counts.get(n, 0) + 1


def capitalized_phrases(text: str, lower_words: Collection[str] = ()) -> list[str]:
    """Capitalized phrases (names, places, organisations) and their words, lower-cased.

    Leading stopwords and titles are dropped ("The Bank of England" -> "bank of england",
    "Mr. Hale" -> "hale"), possessives are cut, and a lone day or month name is not a name.
    The words of a longer phrase are listed too, so "Victor Hale" and a later "Hale" share a
    key. Sentence-initial common words ("Police") slip through; their low IDF keeps them
    light. Hand-written because a tagger would cost far more than the per-article budget.

    Args:
        text: the text to scan.
        lower_words: lone words not to take as names (e.g. words the text also uses in lower
            case); empty by default, as that check did not pay for its cost on the corpora.
    """
    if not lower_words:
        return [w for match in _CAP_PHRASE.findall(text) for w in _phrase_names(match)]
    found: list[str] = []
    for match in _CAP_PHRASE.findall(text):
        names = _phrase_names(match)
        # a lone word may be a common word; the words of a longer phrase are names
        if len(names) == 1 and " " not in names[0] and names[0] in lower_words:
            continue
        found.extend(names)
    return found


def _phrase_names(match: str) -> list[str]:
    """The names one capitalized match gives (see :func:`capitalized_phrases`)."""
    if " " not in match and "\t" not in match:
        word = match.lower()
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        return [word] if len(word) > 1 and word not in _NOT_NAMES else []
    parts = [p[:-2] if p.endswith(("'s", "’s")) else p for p in match.lower().split()]
    while parts and parts[0] in _NOT_NAMES:
        parts.pop(0)
    while parts and parts[-1] in _NOT_NAMES:
        parts.pop()
    if not parts:
        return []
    if len(parts) == 1:
        return [parts[0]] if len(parts[0]) > 1 else []
    return [" ".join(parts), *(p for p in parts if len(p) > 2 and p not in _NOT_NAMES)]


#: Entity keys by capitalized match. Names recur from article to article, so each distinct
#: match is worked out once; the table is emptied when it reaches _MEMO_SIZE entries.
_ENTITY_MEMO: dict[str, tuple[str, ...]] = {}
_MEMO_SIZE = 200_000


def _entity_keys(text: str) -> list[str]:
    """``"e:"`` keys of the capitalized phrases of ``text`` (as :func:`capitalized_phrases`)."""
    memo = _ENTITY_MEMO
    matches = _CAP_PHRASE.findall(text)
    found = list(map(memo.get, matches))
    if None in found:
        if len(memo) > _MEMO_SIZE:
            memo.clear()
        for i, match in enumerate(matches):
            if found[i] is None:
                found[i] = memo[match] = tuple(intern("e:" + w) for w in _phrase_names(match))
    return list(chain.from_iterable(found))


@dataclass(slots=True)
class _Doc:
    """An article's representation: unit TF-IDF vectors of its words, entities and title."""

    terms: _Entries
    entities: _Entries
    title: SortedVector
    time: float
    outlet: str
    lede: SortedVector = EMPTY
    # ids of the heaviest names, heaviest first
    top_names: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    numbers: frozenset[str] = frozenset()
    ages: frozenset[str] = frozenset()
    # the heaviest ``split_terms`` terms as stable ids and weights, for split checks
    split_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    split_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # ``terms`` and ``entities`` by stable id, for the compiled comparisons with stories
    sorted_terms: SortedVector = EMPTY
    sorted_entities: SortedVector = EMPTY


_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _link_story(link: str | list[str]) -> str:
    """The story of an ``a:`` record: the story id, or [story id, kept article it follows]."""
    return link if isinstance(link, str) else link[0]


def _legacy_answer(value: bytes) -> tuple[bytes, float]:
    """An answer recorded on its own (``d:<delivery>``, before answers shared a record), with
    the watermark when it was given; one written without that time is as old as any."""
    given = orjson.loads(value).get("t")
    return bytes(value), float("-inf") if given is None else float(given)


def _doc_record(doc: _Doc, followers: list[list] | None, cfg: ClusterConfig) -> bytes:
    """A kept article's record (``m:<article>``): what a split check and a rebuild read.

    Of the article's words and names only the heaviest the index lists are kept (the rest
    served the article's own lookup, done once).
    """
    vectors = [doc.title, doc.lede, doc.sorted_terms, doc.sorted_entities]
    return json_bytes(
        {
            "t": doc.time,
            "o": doc.outlet,
            "k": doc.terms.keys[: cfg.index_terms],
            "e": doc.entities.keys[: cfg.index_entities],
            "v": [[v.ids, v.weights] for v in vectors],
            "n": doc.top_names,
            "num": sorted(doc.numbers),
            "age": sorted(doc.ages),
            "si": doc.split_ids,
            "sw": doc.split_weights,
            "f": followers or [],
        },
        _NUMPY,
    )


def _doc_from_record(payload: bytes) -> tuple[_Doc, list[list]]:
    """The kept article and its followers back from :func:`_doc_record`."""
    data = orjson.loads(payload)
    title, lede, terms, entities = (
        SortedVector(np.array(ids, np.int64), np.array(ws, np.float64)) for ids, ws in data["v"]
    )
    doc = _Doc(
        _Entries(data["k"], array("d")),
        _Entries(data["e"], array("d")),
        title,
        data["t"],
        data["o"],
        lede,
        np.array(data["n"], np.int64),
        frozenset(data["num"]),
        frozenset(data["age"]),
        np.array(data["si"], np.int64),
        np.array(data["sw"], np.float64),
        terms,
        entities,
    )
    return doc, data["f"]


@dataclass(slots=True)
class _Story:
    id: str
    seq: int
    first: float
    last: float
    count: int = 0
    centroid: SortedVector = EMPTY
    entities: SortedVector = EMPTY
    title: SortedVector = EMPTY
    lede: SortedVector = EMPTY
    outlets: dict[str, float] = field(default_factory=dict)
    titled: int = 0
    dormant: bool = False
    merged_into: str | None = None
    # stream clock at the story's last article (None: a record of a version without it)
    seen: float | None = None
    group: str = ""
    c_norm: float = 0.0
    e_norm: float = 0.0
    t_norm: float = 0.0
    l_norm: float = 0.0
    # ids of the heaviest names, heaviest first
    top_names: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    indexed: list[str] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    ages: dict[str, int] = field(default_factory=dict)
    # articles whose vectors are kept for split checks while the story is splittable (their
    # vectors are ``m:<article>`` records)
    members: list[str] = field(default_factory=list)
    splittable: bool = True
    # in memory only: whether the story has an entry in the dormancy queue
    queued: bool = False

    def to_bytes(self) -> bytes:
        record = {
            "id": self.id,
            "seq": self.seq,
            "first": self.first,
            "last": self.last,
            "count": self.count,
            "outlets": self.outlets,
            "titled": self.titled,
            "dormant": self.dormant,
            "merged_into": self.merged_into,
            "seen": self.seen,
            "indexed": self.indexed,
            "c_norm": self.c_norm,
            "e_norm": self.e_norm,
            "t_norm": self.t_norm,
            "l_norm": self.l_norm,
            "top_names": self.top_names.tolist(),
            "numbers": self.numbers,
            "ages": self.ages,
            "members": self.members,
            "splittable": self.splittable,
            "group": self.group,
        }
        for name, _ in _STORY_VECTORS:
            vec: SortedVector = getattr(self, name)
            record[name + "_ids"] = vec.ids.tolist()
            record[name + "_weights"] = vec.weights.tolist()
        return orjson.dumps(record)

    @classmethod
    def from_bytes(cls, payload: bytes) -> _Story:
        return cls.from_dict(orjson.loads(payload))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Story:
        """A story from its decoded record."""
        vectors = [name for name, _ in _STORY_VECTORS]
        known = {f.name for f in fields(cls)} - set(vectors) - {"top_names"}
        # fields written by another version of this module are ignored
        story = cls(**{k: v for k, v in data.items() if k in known})
        for name in vectors:
            old = data.get(name)
            if isinstance(old, dict):  # written by a version that keyed the vector by term
                weights = np.fromiter(old.values(), np.float64, len(old))
                vec = sorted_vectors.from_pairs(key_ids(list(old)), weights)
            else:
                vec = SortedVector(
                    np.array(data.get(name + "_ids", ()), np.int64),
                    np.array(data.get(name + "_weights", ()), np.float64),
                )
            setattr(story, name, vec)
        names = data.get("top_names") or []
        if names and isinstance(names[0], str):  # names by text, as an older version wrote
            story.top_names = key_ids(names).astype(np.int64)
        else:
            story.top_names = np.array(names, np.int64)
        return story


def article_terms(article: Article, config: ClusterConfig | None = None) -> ArticleTerms:
    """The term statistics :meth:`StoryAssigner.represent` weighs: tokens, names, title, lede.

    Needs no assigner state, so it can run in an earlier, partitioned stage.
    """
    cfg = config or ClusterConfig()
    title = article.title or ""
    body = article.text
    if len(body) > cfg.max_body_chars:
        cut = body.rfind(" ", 0, cfg.max_body_chars)
        body = body[: cut if cut > 0 else cfg.max_body_chars]
    stop = STOPWORDS
    title_toks = WORD_RE.findall(title.lower()) if title else []
    body_toks = WORD_RE.findall(body.lower())
    counts = Counter(title_toks)
    counts.update(body_toks)
    title_words = [t for t in title_toks if len(t) > 1 and t not in stop]
    for w in title_words:
        counts[w] += cfg.title_weight - 1.0
    keys = [t for t in counts if len(t) > 1 and t not in stop]
    ents = Counter(_entity_keys(title + "\n" + body[: cfg.entity_chars]))
    entity_keys = list(ents)
    title_words = list(dict.fromkeys(title_words))
    lede = body_toks[: cfg.lede_tokens]
    title_at, lede_at = _term_positions(keys, title_words, lede)
    return ArticleTerms(
        terms=keys,
        term_counts=[float(counts[k]) for k in keys],
        entities=entity_keys,
        entity_counts=[float(c) for c in ents.values()],
        title=title_words,
        lede=lede,
        ids=key_ids(keys + entity_keys).tolist(),
        title_at=title_at,
        lede_at=lede_at,
        numbers=sorted(_opening_numbers(chain(title_words, lede))),
        ages=person_ages(title + "\n" + body),
    )


def _term_positions(
    terms: list[str], title: list[str], lede: list[str]
) -> tuple[list[int], list[int]]:
    """Positions in ``terms`` of the title words and of the distinct lede words.

    The lede words are the title's, then the opening tokens', in first-seen order, those
    among ``terms`` only (see :class:`~schemas.records.ArticleTerms`).
    """
    at = {t: i for i, t in enumerate(terms)}
    title_at = [at[t] for t in title if t in at]
    lede_at = list(dict.fromkeys(at[t] for t in chain(title, lede) if t in at))
    return title_at, lede_at


class StoryAssigner:
    """Places each article in a story the moment it arrives.

    Candidates come from an inverted index: a story is listed under the heaviest terms and
    names of each article that joined it, and an article looks up its own heaviest terms and
    names (terms listed for too many active stories are skipped). Candidates are ranked by
    the shared weight, the best get the centroid cosine, and the best of those are scored by
    a logistic model over :data:`FEATURE_NAMES` (weights fitted on the dev corpora with
    :mod:`pipeline.assignment.fit`). The article joins the most probable candidate when the
    probability reaches ``join_probability``, else it starts a story. Another candidate the
    article also fits whose centroid has converged with the chosen story's is merged into
    the older of the two. Candidates whose centroids are close enough are linked into the
    story's related-story group. Stories idle for ``dormant_after_seconds`` of event time
    leave the index. Every time is the article's ``published`` time, never the wall clock.
    At sizes in ``split_sizes`` a story is checked for telling two events as one; when it is,
    the articles of the second event leave for a new story (the answer carries the split).

    State is exposed as key/value records (``drain_changes``/``restore``):
    ``n`` global counters, ``df:<seq>``/``dp:<page>`` document frequencies (see
    :class:`~pipeline.assignment.doc_freq.DocumentFrequencies`), ``s:<story>`` stories,
    ``g:<group>`` the members of a related-story group (none for a story alone in its own),
    ``a:<article>`` the story of each article (for a copy of a kept article, ``[story, kept
    article]``), ``d:<first delivery>`` the answers given between two drains (see
    :class:`~pipeline.common.memos.DeliveryMemos`; kept while ``answer_memo_seconds`` have
    not passed), ``m:<article>`` the vectors of an article kept for its story's split checks,
    with the copies that follow it, so that a restored assigner decides exactly as the one
    before. A story's going dormant is not written: the restored watermark decides it again.
    """

    def __init__(
        self,
        config: ClusterConfig | None = None,
        lookup: Callable[[str], bytes | None] | None = None,
    ) -> None:
        """``lookup``, when given, reads back a record this assigner wrote (the worker's
        table): dormant and merged stories, their kept articles, old article links and groups
        of sleeping stories then leave memory once their records are drained, and are read
        back when needed. Answers are the same with or without it.
        """
        self.config = config or ClusterConfig()
        self._lookup = lookup
        sorted_vectors.warm_up()
        # document frequencies by bucket of the terms' stable ids (ClusterConfig.df_buckets)
        self._df = DocumentFrequencies(self.config.df_buckets)
        self._docs = 0
        self._seq = 0
        self._watermark = float("-inf")
        # stream clock: follows the watermark, at most ``max_clock_step`` per step
        self._clock = float("-inf")
        self._stories: dict[str, _Story] = {}
        self._article_story: dict[str, str] = {}
        # answers already given, by delivery (JSON bytes, recorded a batch per record)
        self._memos = DeliveryMemos("d:")
        self._index: dict[str, dict[str, float]] = {}
        # dormant stories (id: seq) by the names they are indexed under, for
        # ``recall_seconds``; a name listed for more than ``recall_max_posting`` is too common
        # to find one and is not looked up (nor listed further)
        self._recall: dict[str, dict[str, int]] = {}
        # each remembered story's (clock when it went to sleep, names), and those times in order
        self._remembered: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._recall_expiry: deque[tuple[float, str]] = deque()
        # with a lookup: stories to leave memory after the next drain if asleep or merged, and
        # (clock, article) of every link in order, to let links leave memory after a while
        self._leaving: dict[str, None] = {}
        self._links: deque[tuple[float, str]] = deque()
        self._groups: dict[str, set[str]] = {}
        self._expiry: list[tuple[float, int, str]] = []
        self._dirty: dict[str, None] = {}
        # splittable stories' articles: their vectors, their followers (those with any) as
        # [article id, time, outlet, counted], and each follower's original
        self._member_docs: dict[str, _Doc] = {}
        self._followers: dict[str, list[list]] = {}
        self._root: dict[str, str] = {}

    # ------------------------------------------------------------------ public API

    def assign(
        self,
        article: Article,
        verdict: DedupVerdict,
        delivery: str | None = None,
        terms: ArticleTerms | None = None,
    ) -> StoryAssignment:
        """Place one article; see the class docstring for the decision.

        ``terms``: the article's :func:`article_terms`, if an earlier stage computed them.
        """
        if delivery is not None:
            memo = self._memos.get(delivery)
            if memo is not None:
                seen = orjson.loads(memo)
                return StoryAssignment(
                    story_id=seen["story"],
                    article=article,
                    verdict=verdict,
                    score=seen["score"],
                    is_new_story=seen["new"],
                    merged_from=list(seen["merged"]),
                    related=list(seen["related"]),
                    split=StorySplit.from_dict(seen["split"]) if seen.get("split") else None,
                )
        result = self._assign(article, verdict, terms)
        if delivery is not None:
            answer = json_bytes(
                {
                    "story": result.story_id,
                    "score": result.score,
                    "new": result.is_new_story,
                    "merged": result.merged_from,
                    "related": result.related,
                    "split": result.split.to_dict() if result.split else None,
                }
            )
            self._memos.add(delivery, answer, max(self._watermark, article.published))
        return result

    def related(self, story_id: str) -> list[str]:
        """Ids of the stories in the same related-story group, excluding the story itself."""
        story = self._story(self._resolve(story_id))
        if story is None:
            return []
        return sorted(m for m in self._group(story.group) if m != story.id)

    def group_of(self, story_id: str) -> str:
        """Id of the related-story group of a story (the id of its oldest story)."""
        story = self._story(self._resolve(story_id))
        return story_id if story is None else story.group

    def story_of(self, article_id: str) -> str | None:
        """The current story of an article (following merges), or None if unknown."""
        sid = self._story_id_of(article_id)
        return None if sid is None else self._resolve(sid)

    def size(self, story_id: str) -> int:
        """Number of distinct articles counted in a story (resends and revisions excluded)."""
        story = self._story(self._resolve(story_id))
        return 0 if story is None else story.count

    def drain_changes(self) -> list[tuple[str, bytes | None]]:
        """Records written since the last call, as ``(key, value)``; see the class docstring."""
        out = self._df.drain()
        for key in self._dirty:
            out.append((key, self._encode(key)))
        self._dirty.clear()
        out += self._memos.drain()
        if self._lookup is not None:
            self._let_go()
        return out

    def restore(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Rebuild the state from records (later records for a key replace earlier ones).

        With a ``lookup`` (whose table ``items`` lists once per key), only what is live is
        rebuilt: sleeping and merged stories, kept articles and article links stay in the
        table and are read back when needed, so a restart holds the live window only.
        """
        lazy = self._lookup is not None
        if lazy:
            counters = self._lookup("n")
            if counters is not None:
                self._read_counters(counters)
        else:
            latest: dict[str, bytes | None] = {}
            for key, value in items:
                latest[key] = value
            items = latest.items()
        groups: dict[str, list[str]] = {}
        sleeping: list[_Story] = []
        for key, value in items:
            if value is None:
                continue
            kind, _, name = key.partition(":")
            if key == "n":
                self._read_counters(value)
            elif self._df.restore(key, value):
                pass
            elif kind == "s":
                record = orjson.loads(value)
                if lazy and self._past_recall(record):
                    continue  # nothing of it is restored: its vectors are not even decoded
                story = _Story.from_dict(record)
                if lazy and (story.merged_into is not None or self._asleep_on_restore(story)):
                    if story.merged_into is None:
                        story.dormant = True
                        sleeping.append(story)
                    continue
                self._stories[name] = story
            elif kind == "a" and not lazy:
                self._article_story[name] = _link_story(orjson.loads(value))
            elif kind == "d":
                self._memos.restore(key, value, _legacy_answer)
            elif kind == "g":
                groups[name] = orjson.loads(value)
            elif kind == "m" and not lazy:
                self._hold_member(name, value)
        self._df.finish_restore()
        stories = self._stories
        for story in stories.values():
            story.group = story.id
        for gid, members in groups.items():
            live = [sid for sid in members if sid in stories]
            for sid in live:
                stories[sid].group = gid
            if lazy and live:
                self._groups[gid] = set(members)
        for story in sorted(stories.values(), key=lambda s: s.seq):
            # a record of a version that kept the vectors in memory only is not splittable
            if story.splittable and (
                (story.count and not story.members)
                or (not lazy and any(a not in self._member_docs for a in story.members))
            ):
                story.splittable = False
                story.members = []
            if story.merged_into is None:
                self._groups.setdefault(story.group, set()).add(story.id)
            if story.merged_into is not None:
                continue
            if not self._asleep_on_restore(story):
                self._index_story(story)
                self._queue(story)
            else:
                story.dormant = True
                self._compact(story)
                sleeping.append(story)
        # back in the recall index, in the order they went to sleep (about when they did)
        after = self.config.dormant_after_seconds
        for story in sorted(sleeping, key=lambda s: (s.seen + after, s.seq)):
            if self._within_recall(story.seen):
                self._remember(story, story.seen + after)
        self._watermark_moved()

    def _past_recall(self, record: dict[str, Any]) -> bool:
        """Whether a story record restores to nothing: merged, or asleep for longer than
        names recall sleeping stories (as :meth:`_asleep_on_restore` and the recall window
        in :meth:`restore` judge the decoded story)."""
        if record.get("merged_into") is not None:
            return True
        seen = self._restored_seen(record.get("seen"), record["last"])
        return self._sleeps(record.get("dormant", False), seen) and not self._within_recall(seen)

    def _asleep_on_restore(self, story: _Story) -> bool:
        """Whether a restored story sleeps: its record says so, or the restored clock does
        (going to sleep writes no record)."""
        story.seen = self._restored_seen(story.seen, story.last)
        return self._sleeps(story.dormant, story.seen)

    def _restored_seen(self, seen: float | None, last: float) -> float:
        """When a restored story was last joined, in stream time (an older record has only
        its event time: its idle time in event time counts back from the clock)."""
        return self._clock - max(0.0, self._watermark - last) if seen is None else seen

    def _sleeps(self, dormant: bool, seen: float) -> bool:
        """Whether a restored story sleeps: marked so, or idle longer than dormancy."""
        return dormant or seen < self._clock - self.config.dormant_after_seconds

    def _within_recall(self, seen: float) -> bool:
        """Whether a story asleep since ``seen`` + dormancy is still within the recall window."""
        return seen + self.config.dormant_after_seconds >= self._clock - self.config.recall_seconds

    def _read_counters(self, payload: bytes) -> None:
        """The ``n`` record: articles seen, stories opened, watermark and stream clock."""
        data = orjson.loads(payload)
        self._docs, self._seq, self._watermark = data["docs"], data["seq"], data["wm"]
        if self._watermark is None:
            self._watermark = float("-inf")
        clock = data.get("clock")  # absent in records of older versions
        self._clock = self._watermark if clock is None else clock

    # ------------------------------------------------------------------ internals

    def _encode(self, key: str) -> bytes | None:
        kind, _, name = key.partition(":")
        if key == "n":
            wm = None if self._watermark == float("-inf") else self._watermark
            clock = None if self._clock == float("-inf") else self._clock
            return orjson.dumps({"docs": self._docs, "seq": self._seq, "wm": wm, "clock": clock})
        if kind == "s":
            story = self._stories.get(name)
            return None if story is None else story.to_bytes()
        if kind == "a":
            sid = self._article_story.get(name)
            if sid is None:
                return None
            root = self._root.get(name)
            return orjson.dumps(sid if root is None else [sid, root])
        if kind == "m":
            doc = self._member_docs.get(name)
            return None if doc is None else _doc_record(doc, self._followers.get(name), self.config)
        if kind == "g":
            members = self._groups.get(name)
            if not members or members == {name}:
                return None  # a story alone in its own group needs no record
            return orjson.dumps(sorted(members))
        raise KeyError(key)

    def _resolve(self, story_id: str) -> str:
        story = self._story(story_id)
        while story is not None and story.merged_into is not None:
            story_id = story.merged_into
            story = self._story(story_id)
        return story_id

    # ------------------------------------------------------------------ what left memory

    def _story(self, sid: str) -> _Story | None:
        """The story, read back with its kept articles if it left memory (see ``lookup``).

        A story read back is asleep or merged; it leaves memory again after the next drain
        unless an article wakes it.
        """
        story = self._stories.get(sid)
        if story is not None or self._lookup is None:
            return story
        payload = self._lookup("s:" + sid)
        if payload is None:
            return None
        story = _Story.from_bytes(payload)
        story.dormant = story.merged_into is None
        self._stories[sid] = story
        self._leaving[sid] = None
        return story

    def _read_members(self, members: list[str]) -> bool:
        """Make sure kept articles are in memory, read back from their ``m:`` records.

        False if one is not a kept article (or is no longer: a record deleted by a change
        not yet drained counts as gone).
        """
        docs = self._member_docs
        for article_id in members:
            if article_id in docs:
                continue
            key = "m:" + article_id
            payload = self._lookup(key) if self._lookup and key not in self._dirty else None
            if payload is None:
                return False
            self._hold_member(article_id, payload)
        return True

    def _hold_member(self, article_id: str, payload: bytes) -> None:
        """Put a kept article, from its ``m:`` record, in memory with the copies following it."""
        self._member_docs[article_id], followers = _doc_from_record(payload)
        if followers:
            self._followers[article_id] = followers
            for follower in followers:
                self._root[follower[0]] = article_id

    def _story_id_of(self, article_id: str) -> str | None:
        """The story an article was linked to (unresolved), read back if it left memory."""
        sid = self._article_story.get(article_id)
        if sid is None:
            link = self._read_link(article_id)
            sid = None if link is None else _link_story(link)
        return sid

    def _root_of(self, article_id: str) -> str | None:
        """The kept article a copy follows (see :meth:`_follow`), read back if it left memory."""
        root = self._root.get(article_id)
        if root is None and article_id not in self._article_story:
            link = self._read_link(article_id)
            root = None if link is None or isinstance(link, str) else link[1]
        return root

    def _read_link(self, article_id: str) -> str | list[str] | None:
        """An article's ``a:`` record read back from the table (None without one)."""
        payload = self._lookup("a:" + article_id) if self._lookup is not None else None
        return None if payload is None else orjson.loads(payload)

    def _group(self, gid: str) -> set[str]:
        """The members of a related-story group, read back if it left memory."""
        members = self._groups.get(gid)
        if members is None:
            payload = self._lookup("g:" + gid) if self._lookup else None
            members = self._groups[gid] = set(orjson.loads(payload)) if payload else {gid}
        return members

    def _let_go(self) -> None:
        """After a drain: what is written and no longer live leaves memory (needs ``lookup``).

        Asleep and merged stories, the kept articles' vectors, groups whose stories all went,
        and article links older than ``dormant_after_seconds`` of stream time.
        """
        stories, groups = self._stories, self._groups
        for sid in self._leaving:
            story = stories.get(sid)
            if story is None or not (story.dormant or story.merged_into is not None):
                continue
            del stories[sid]
            members = groups.get(story.group)
            if members is not None and not any(m in stories for m in members):
                del groups[story.group]
            if story.group != sid and sid in groups and not any(m in stories for m in groups[sid]):
                del groups[sid]
        self._leaving.clear()
        # kept articles are read back for a split check or a copy that follows one
        self._member_docs.clear()
        self._followers.clear()
        limit = self._clock - self.config.dormant_after_seconds
        links = self._links
        while links and links[0][0] < limit:
            article_id = links.popleft()[1]
            self._article_story.pop(article_id, None)
            self._root.pop(article_id, None)

    def document_frequency(self, term: str) -> int:
        """Number of articles seen with ``term`` (entity keys start with ``"e:"``)."""
        return int(self._df.counts[self._df.buckets_of(key_ids([term]).tolist())][0])

    def represent(
        self, article: Article, learn: bool = True, terms: ArticleTerms | None = None
    ) -> _Doc:
        """TF-IDF vectors of an article, updating document frequencies when ``learn``.

        ``terms`` are the article's :func:`article_terms` when an earlier stage computed them.
        """
        cfg = self.config
        if terms is None:
            terms = article_terms(article, cfg)
        keys = terms.terms
        ekeys = terms.entities
        n_keys = len(keys) + len(ekeys)
        if len(terms.ids) == n_keys:
            ids = np.fromiter(terms.ids, np.int64, n_keys)
        else:
            ids = key_ids(keys + ekeys).astype(np.int64)
        buckets = self._df.buckets_of(ids)
        if learn:
            seen = self._df.count(buckets)
            self._docs += 1
            self._dirty["n"] = None
        else:
            seen = self._df.counts[buckets]
        # idf = log((docs + 1) / (df + 1)) + 1, as (log(docs + 1) + 1) - log(df + 1)
        top = math.log(self._docs + 1) + 1.0
        idf_all = top - np.log(seen + 1.0)
        counts = np.array(terms.term_counts + terms.entity_counts, np.float64)
        weights = (1.0 + np.log(counts)) * idf_all
        n_terms = len(keys)
        term_weights = weights[:n_terms]
        order = _heaviest(term_weights, cfg.max_article_terms)
        vec = _unit_entries(keys, term_weights, order)
        entity_weights = weights[n_terms:]
        entity_order = _heaviest(entity_weights, cfg.max_article_entities)
        entities = _unit_entries(ekeys, entity_weights, entity_order)
        entity_ids = ids[n_terms:][entity_order]
        split_order = order[: cfg.split_terms]
        title_words = terms.title
        if terms.lede_at or not (title_words or terms.lede):
            title_at, lede_at = terms.title_at, terms.lede_at
            numbers = frozenset(terms.numbers)
        else:  # a message of an older worker
            title_at, lede_at = _term_positions(keys, title_words, terms.lede)
            numbers = _opening_numbers(chain(title_words, terms.lede))
        idf = idf_all[:n_terms]
        title_at = _heaviest_of(idf, title_at, 30)
        tvec = sorted_vectors.unit_from_pairs(ids[title_at], idf[title_at])
        lede_at = _heaviest_of(idf, lede_at, 40)
        lede = sorted_vectors.unit_from_pairs(ids[lede_at], idf[lede_at])
        return _Doc(
            vec,
            entities,
            tvec,
            article.published,
            article.outlet or "",
            lede,
            entity_ids[:_TOP_NAMES],
            numbers,
            frozenset(terms.ages),
            ids[split_order],
            term_weights[split_order],
            sorted_vectors.from_pairs(ids[order], np.frombuffer(vec.weights))
            if vec.keys
            else EMPTY,
            sorted_vectors.from_pairs(entity_ids, np.frombuffer(entities.weights))
            if entities.keys
            else EMPTY,
        )

    def _candidates(self, doc: _Doc) -> list[_Story]:
        """Active stories sharing the article's heaviest terms, best accumulated weight first."""
        cfg = self.config
        index = self._index
        acc: dict[str, float] = {}
        get = acc.get
        max_posting = cfg.max_posting
        for items, n in ((doc.terms, cfg.query_terms), (doc.entities, cfg.query_entities)):
            for term, weight in zip(items.keys[:n], items.weights[:n], strict=True):
                postings = index.get(term)
                if postings and len(postings) <= max_posting:
                    for sid in postings:
                        acc[sid] = get(sid, 0.0) + weight
        stories = self._stories
        out: list[_Story] = []
        if acc:
            pool = acc.items()
            k = cfg.max_candidates
            if len(acc) > k > 0:
                # only stories at least as heavy as the k-th heaviest can be among the best k
                floor = sorted(acc.values(), reverse=True)[k - 1]
                pool = [kv for kv in pool if kv[1] >= floor]
            best = heapq.nsmallest(k, pool, key=lambda kv: (-kv[1], stories[kv[0]].seq))
            out = [stories[sid] for sid, _ in best]
        if self._recall:
            out.extend(map(self._story, self._recalled(doc)))
        return out

    def _recalled(self, doc: _Doc) -> list[str]:
        """The dormant stories (``recall_candidates`` at most) two or more of the article's
        heaviest names find, most name weight first."""
        recall = self._recall
        cap = self.config.recall_max_posting
        hits: dict[str, int] = {}
        weight: dict[str, float] = {}
        seqs: dict[str, int] = {}
        n = self.config.query_entities
        for term, w in zip(doc.entities.keys[:n], doc.entities.weights[:n], strict=True):
            postings = recall.get(term)
            if postings and len(postings) <= cap:
                seqs.update(postings)
                for sid in postings:
                    hits[sid] = hits.get(sid, 0) + 1
                    weight[sid] = weight.get(sid, 0.0) + w
        found = [sid for sid, n in hits.items() if n >= 2]
        if not found:
            return found
        key = lambda sid: (-weight[sid], seqs[sid])  # noqa: E731
        return heapq.nsmallest(self.config.recall_candidates, found, key=key)

    def features(self, doc: _Doc, story: _Story, cos_c: float | None = None) -> list[float]:
        """Signals for "this article belongs to this story", named in FEATURE_NAMES.

        The last one (margin over the next-best candidate's centroid cosine) is filled in by
        the caller, which sees all candidates.
        """
        cfg = self.config
        if cos_c is None:
            cos_c = _cosine(doc.sorted_terms, story.centroid, story.c_norm)
        cos_e = _cosine(doc.sorted_entities, story.entities, story.e_norm)
        has_t = 1.0 if (len(doc.title.ids) and story.t_norm > 0.0) else 0.0
        cos_t = _cosine(doc.title, story.title, story.t_norm)
        shared = bool(doc.numbers) and not doc.numbers.isdisjoint(story.numbers)
        ages_shared = bool(doc.ages) and not doc.ages.isdisjoint(story.ages)
        gap = (
            min(
                max(0.0, doc.time - story.last, story.first - doc.time),
                self._clock - story.seen,
            )
            / 86400.0
        )
        span = story.last - story.first
        rhythm = span / (86400.0 * (story.count - 1)) if story.count > 1 else 0.0
        last_here = story.outlets.get(doc.outlet) if doc.outlet else None
        # Date-only times (exactly midnight) say nothing about minutes between articles.
        same = (
            1.0
            if last_here is not None
            and abs(doc.time - last_here) <= cfg.same_outlet_seconds
            and doc.time % 86400.0 != 0.0
            and last_here % 86400.0 != 0.0
            else 0.0
        )
        return [
            cos_c,
            cos_e,
            cos_t,
            has_t,
            math.log1p(gap),
            same,
            math.log(story.count + 1.0),
            0.0,
            _cosine(doc.lede, story.lede, story.l_norm),
            _missing(doc.top_names, story.entities),
            _missing(story.top_names, doc.sorted_entities),
            1.0 if shared else 0.0,
            1.0 if (doc.numbers and story.numbers and not shared) else 0.0,
            math.log1p(gap / (1.0 + rhythm)),
            1.0 if ages_shared else 0.0,
            1.0 if (doc.ages and story.ages and not ages_shared) else 0.0,
        ]

    def score(self, feats: list[float]) -> float:
        """Probability that the article belongs to the story."""
        cfg = self.config
        return _sigmoid(cfg.bias + sum(map(mul, cfg.weights, feats)))

    def _ranked(self, doc: _Doc) -> list[tuple[float, _Story]]:
        """Retrieved candidates with their centroid cosine, best first (ties: older first)."""
        terms = doc.sorted_terms
        return sorted(
            ((_cosine(terms, s.centroid, s.c_norm), s) for s in self._candidates(doc)),
            key=lambda r: (-r[0], r[1].seq),
        )

    def _scored(
        self, doc: _Doc, ranked: list[tuple[float, _Story]] | None = None
    ) -> list[tuple[float, _Story, list[float]]]:
        """Candidates with their features and join probability, best first.

        Every retrieved candidate gets the cheap centroid cosine (``ranked``, see
        :meth:`_ranked`); the ``max_scored`` best by it get the full features and the model's
        probability, except those whose cosine is under ``second_cosine_share`` of the best's.
        """
        if ranked is None:
            ranked = self._ranked(doc)
        if not ranked:
            return []
        coss = [c for c, _ in ranked] + [0.0]
        floor = coss[0] * self.config.second_cosine_share
        scored = []
        for i, (cos_c, story) in enumerate(ranked[: self.config.max_scored]):
            if i > 0 and cos_c < floor:
                break
            f = self.features(doc, story, cos_c)
            f[_MARGIN] = cos_c - (coss[1] if i == 0 else coss[0])
            scored.append((self.score(f), story, f))
        scored.sort(key=lambda r: (-r[0], r[1].seq))
        return scored

    def _advance(self, now: float) -> None:
        """Move the event-time watermark and put idle stories to sleep."""
        if now <= self._watermark:
            return
        if self._watermark == float("-inf"):
            self._clock = now
        else:
            self._clock += min(now - self._watermark, self.config.max_clock_step)
        self._watermark = now
        self._dirty["n"] = None
        self._watermark_moved()

    def _watermark_moved(self) -> None:
        """What the watermark's position decides: idle stories sleep, old answers go."""
        self._sleep_idle()
        self._forget_old_names()
        self._forget_answers()

    def _forget_answers(self) -> None:
        """Drop the answers given ``answer_memo_seconds`` of event time ago (and their records)."""
        self._memos.expire(self._watermark - self.config.answer_memo_seconds)

    def _sleep_idle(self) -> None:
        """Put the stories idle for ``dormant_after_seconds`` before the watermark to sleep.

        Going dormant writes no record: it follows from the story's record and the watermark
        (``n``), so a restore puts the same stories to sleep the same way. That spares the
        changelog a record per story (a fifth of an article's records on a long stream).
        """
        limit = self._clock - self.config.dormant_after_seconds
        heap = self._expiry
        while heap and heap[0][0] < limit:
            _, _, sid = heapq.heappop(heap)
            story = self._stories.get(sid)
            if story is None or story.dormant or story.merged_into is not None:
                continue
            if story.seen >= limit:  # written into since it was queued: queue it again
                heapq.heappush(heap, (story.seen, story.seq, sid))
                continue
            story.queued = False
            story.dormant = True
            self._unindex_story(story)
            self._remember(story)
            self._compact(story)
            if self._lookup is not None:
                self._leaving[sid] = None

    def _remember(self, story: _Story, asleep_since: float | None = None) -> None:
        """List a dormant story in the recall index under its names (see ``recall_max_posting``).

        ``asleep_since``: the clock when it went to sleep (by default, now).
        """
        cap = self.config.recall_max_posting
        if cap <= 0:
            return
        since = self._clock if asleep_since is None else asleep_since
        names = tuple(key for key in story.indexed if key.startswith("e:"))
        self._remembered[story.id] = (since, names)
        self._recall_expiry.append((since, story.id))
        recall = self._recall
        for key in names:
            postings = recall.get(key)
            if postings is None:
                recall[key] = {story.id: story.seq}
            elif len(postings) <= cap:
                postings[story.id] = story.seq

    def _forget(self, sid: str) -> None:
        """Take a story that wakes (or is merged, or slept too long) out of the recall index."""
        remembered = self._remembered.pop(sid, None)
        if remembered is None:
            return
        recall = self._recall
        for key in remembered[1]:
            postings = recall.get(key)
            if postings is not None:
                postings.pop(sid, None)
                if not postings:
                    del recall[key]

    def _forget_old_names(self) -> None:
        """Take the stories asleep for ``recall_seconds`` out of the recall index."""
        limit = self._clock - self.config.recall_seconds
        queue = self._recall_expiry
        while queue and queue[0][0] < limit:
            since, sid = queue.popleft()
            remembered = self._remembered.get(sid)
            if remembered is not None and remembered[0] == since:
                self._forget(sid)

    def _compact(self, story: _Story) -> None:
        """Shrink a dormant story's long vectors: it only needs them again if a copy wakes it.

        A vector is cut to its ``dormant_terms`` heaviest entries only when it holds more than
        twice as many: cutting a short one frees little memory for the cost of a sort. Nothing
        is cut when ``dormant_terms`` is 0 (the default).
        """
        keep = self.config.dormant_terms
        if keep <= 0:
            return
        for attr, norm_attr in _STORY_VECTORS:
            vec: SortedVector = getattr(story, attr)
            if len(vec.ids) > 2 * keep:
                vec, norm = sorted_vectors.cut(vec, keep)
                setattr(story, attr, vec)
                setattr(story, norm_attr, norm)

    def _index_story(self, story: _Story) -> None:
        """List the story in the index under all its index terms."""
        index = self._index
        sid = story.id
        for term in story.indexed:
            postings = index.get(term)
            if postings is None:
                index[term] = {sid: None}
            else:
                postings[sid] = None

    def _unindex_story(self, story: _Story) -> None:
        index = self._index
        for term in story.indexed:
            postings = index.get(term)
            if postings is not None:
                postings.pop(story.id, None)
                if not postings:
                    del index[term]

    def _add_index_terms(self, story: _Story, doc: _Doc) -> None:
        """Index the story under the joining article's heaviest terms and entities."""
        cfg = self.config
        room = cfg.max_index_terms - len(story.indexed)
        if room <= 0:
            return
        have = set(story.indexed)
        fresh = [
            t
            for t in chain(
                doc.terms.keys[: cfg.index_terms], doc.entities.keys[: cfg.index_entities]
            )
            if t not in have
        ][:room]
        story.indexed.extend(fresh)
        if story.dormant:
            return
        index = self._index
        sid = story.id
        for term in fresh:
            postings = index.get(term)
            if postings is None:
                index[term] = {sid: None}
            else:
                postings[sid] = None

    def _add_to_story(self, story: _Story, doc: _Doc, article: Article) -> None:
        """Add an article's vectors to the story (centroids and index terms)."""
        self._add_vectors(story, doc)
        self._touch(story, article.published, article.outlet)

    def _add_vectors(self, story: _Story, doc: _Doc) -> None:
        """Add an article's vectors to the story's centroids, names, numbers and index terms."""
        cfg = self.config
        story.centroid, story.c_norm = sorted_vectors.add(
            story.centroid, story.c_norm, doc.sorted_terms, cfg.max_story_terms
        )
        story.entities, story.e_norm = sorted_vectors.add(
            story.entities, story.e_norm, doc.sorted_entities, cfg.max_story_entities
        )
        story.title, story.t_norm = sorted_vectors.add(
            story.title, story.t_norm, doc.title, _STORY_TITLE_TERMS
        )
        story.lede, story.l_norm = sorted_vectors.add(
            story.lede, story.l_norm, doc.lede, _STORY_LEDE_TERMS
        )
        story.top_names = sorted_vectors.top_ids(story.entities, _TOP_NAMES)
        _add_numbers(story.numbers, doc.numbers, cfg.max_story_numbers)
        _add_numbers(story.ages, doc.ages, cfg.max_story_numbers)
        if len(doc.title.ids):
            story.titled += 1
        self._add_index_terms(story, doc)

    def _touch(self, story: _Story, t: float, outlet: str) -> None:
        """Count one more article (published at ``t``) in the story, wake it if dormant."""
        story.count += 1
        story.first = min(story.first, t)
        if t > story.last:
            story.last = t
        story.seen = self._clock
        if outlet:
            prev = story.outlets.get(outlet)
            story.outlets[outlet] = t if prev is None else max(prev, t)
        if story.dormant:
            story.dormant = False
            self._forget(story.id)
            self._index_story(story)
        self._queue(story)
        self._dirty["s:" + story.id] = None

    def _queue(self, story: _Story) -> None:
        """Put the story in the dormancy queue unless it is there already.

        A story is queued once, under the time of its last article then; when that entry
        comes due, the story is queued again under its new last time if articles came since.
        So the queue holds about one entry per live story, not one per article.
        """
        if not story.queued:
            story.queued = True
            heapq.heappush(self._expiry, (story.seen, story.seq, story.id))

    def _new_story(self, article: Article) -> _Story:
        return self._open_story(article.id, article.published)

    def _open_story(self, first_article: str, t: float) -> _Story:
        """A new, empty story named after its first article (published at ``t``)."""
        sid = "s-" + stable_hash(first_article)
        n = 1
        while self._story(sid) is not None:
            sid = "s-" + stable_hash(first_article, str(n))
            n += 1
        self._seq += 1
        self._dirty["n"] = None
        story = _Story(id=sid, seq=self._seq, first=t, last=t, group=sid)
        self._stories[sid] = story
        self._groups[sid] = {sid}
        return story

    def _link(self, article_id: str, story_id: str) -> None:
        self._article_story[article_id] = story_id
        self._dirty["a:" + article_id] = None
        if self._lookup is not None:
            self._links.append((self._clock, article_id))

    def _assign(
        self, article: Article, verdict: DedupVerdict, terms: ArticleTerms | None = None
    ) -> StoryAssignment:
        known = self._story_id_of(article.id)
        dup_of = verdict.duplicate_of
        if verdict.kind in ("resend", "revision"):
            sid = (self._story_id_of(dup_of) if dup_of else None) or known
            if sid is not None:
                sid = self._resolve(sid)
                if known is None:
                    self._link(article.id, sid)
                    self._follow(dup_of or article.id, article, counted=False)
                return self._answer(sid, article, verdict, 1.0, False, [])
        if known is not None:
            # The same article again under another verdict: nothing changes.
            return self._answer(self._resolve(known), article, verdict, 1.0, False, [])
        self._advance(article.published)
        if verdict.kind in ("syndicated", "light_edit") and dup_of is not None:
            sid = self._story_id_of(dup_of)
            if sid is not None:
                story = self._story(self._resolve(sid))
                self._touch(story, article.published, article.outlet)
                self._link(article.id, story.id)
                self._follow(dup_of, article, counted=True)
                return self._answer(story.id, article, verdict, 1.0, False, [])
        doc = self.represent(article, terms=terms)
        ranked = self._ranked(doc)
        scored = self._scored(doc, ranked)
        merged: list[str] = []
        if scored and scored[0][0] >= self.config.join_probability:
            prob, story, _ = scored[0]
            is_new = False
        else:
            prob = scored[0][0] if scored else 0.0
            story = self._new_story(article)
            is_new = True
        self._add_to_story(story, doc, article)
        self._link(article.id, story.id)
        self._keep_member(story, article.id, doc)
        if not is_new:
            story, merged = self._merge_converging(story, scored)
        # An arrival that merged stories is not also a split: the answer names one change.
        split = None if merged else self._check_split(story)
        if split is not None:
            story = self._stories[self._resolve(self._article_story[article.id])]
        self._relate(story, ranked[: self.config.max_scored])
        return self._answer(story.id, article, verdict, prob, is_new, merged, split)

    # ------------------------------------------------------------------ splits

    def _keep_member(self, story: _Story, article_id: str, doc: _Doc) -> None:
        """Keep the article's vectors for the story's split checks (while it is splittable)."""
        if not story.splittable:
            return
        if story.count > self.config.split_sizes[-1]:
            self._seal(story)
            return
        story.members.append(article_id)
        self._member_docs[article_id] = doc
        self._dirty["m:" + article_id] = None

    def _follow(self, target: str, article: Article, counted: bool) -> None:
        """Note a copy, resend or revision of a kept article: it moves with it in a split."""
        root = self._root_of(target) or target
        if not self._read_members([root]):  # not a kept article
            return
        self._followers.setdefault(root, []).append(
            [article.id, article.published, article.outlet, counted]
        )
        self._root[article.id] = root
        self._dirty["m:" + root] = None

    def _seal(self, story: _Story) -> None:
        """Stop checking the story for splits and let go of its articles' vectors."""
        if not story.splittable:
            return
        story.splittable = False
        for article_id in story.members:
            self._member_docs.pop(article_id, None)
            self._dirty["m:" + article_id] = None
            for follower in self._followers.pop(article_id, ()):
                self._root.pop(follower[0], None)
        story.members = []

    def _check_split(self, story: _Story) -> StorySplit | None:
        """Split the story when it has just reached a checked size and tells two events."""
        cfg = self.config
        if not story.splittable or len(story.members) not in cfg.split_sizes:
            return None
        if not self._read_members(story.members):  # records of a version without them
            self._seal(story)
            return None
        docs = self._member_docs
        kept = [docs[a] for a in story.members]
        sims = row_cosines([d.split_ids for d in kept], [d.split_weights for d in kept])
        leave = split_by_cosines(
            sims, cfg.split_min_side, cfg.split_max_ratio, cfg.split_min_within
        )
        if leave is None:
            return None
        staying = [a for a, out in zip(story.members, leave, strict=True) if not out]
        leaving = [a for a, out in zip(story.members, leave, strict=True) if out]
        new = self._open_story(leaving[0], docs[leaving[0]].time)
        self._unindex_story(story)
        # the story keeps its id, age and group, and is rebuilt from the articles that stay
        story = self._stories[story.id] = _Story(
            id=story.id, seq=story.seq, first=math.inf, last=-math.inf, group=story.group
        )
        for article_id in staying:
            self._rebuild_member(story, article_id)
        moved = [i for article_id in leaving for i in self._rebuild_member(new, article_id)]
        self._union_groups(story, new)
        return StorySplit(story_id=story.id, new_story_id=new.id, article_ids=moved)

    def _rebuild_member(self, story: _Story, article_id: str) -> list[str]:
        """Put a kept article and its followers (back) into a story; return their ids."""
        doc = self._member_docs[article_id]
        self._add_vectors(story, doc)
        self._touch(story, doc.time, doc.outlet)
        story.members.append(article_id)
        ids = [article_id]
        for follower_id, t, outlet, counted in self._followers.get(article_id, ()):
            if counted:
                self._touch(story, t, outlet)
            ids.append(follower_id)
        for moved_id in ids:
            if self._story_id_of(moved_id) != story.id:
                self._link(moved_id, story.id)
        return ids

    def _merge_converging(
        self, story: _Story, scored: list[tuple[float, _Story, list[float]]]
    ) -> tuple[_Story, list[str]]:
        """Merge other candidates the article also fits, when their centroids have converged.

        The older story survives (its id is the one subscribers know best); the answer lists
        the absorbed ids so that downstream can publish the merge.
        """
        cfg = self.config
        merged: list[str] = []
        for prob, other, _ in scored[1:]:
            if prob < cfg.merge_probability or other.merged_into is not None:
                continue
            if other.id == story.id or other.dormant or story.c_norm == 0.0:
                continue
            dot = sorted_vectors.dot(story.centroid, other.centroid)
            cos = dot / (story.c_norm * other.c_norm or 1.0)
            if cos < cfg.merge_centroid_cosine:
                continue
            survivor, gone = (story, other) if story.seq < other.seq else (other, story)
            self._absorb(survivor, gone)
            merged.append(gone.id)
            story = survivor
        return story, merged

    def _absorb(self, survivor: _Story, gone: _Story) -> None:
        """Move everything of ``gone`` into ``survivor``; ``gone`` points at it from now on."""
        cfg = self.config
        for (attr, norm_attr), keep in zip(_STORY_VECTORS, _story_keeps(cfg), strict=True):
            vec, norm = sorted_vectors.add(
                getattr(survivor, attr), getattr(survivor, norm_attr), getattr(gone, attr), keep
            )
            setattr(survivor, attr, vec)
            setattr(survivor, norm_attr, norm)
        survivor.top_names = sorted_vectors.top_ids(survivor.entities, _TOP_NAMES)
        _add_numbers(survivor.numbers, gone.numbers, cfg.max_story_numbers)
        _add_numbers(survivor.ages, gone.ages, cfg.max_story_numbers)
        survivor.count += gone.count
        survivor.titled += gone.titled
        if survivor.splittable and gone.splittable:
            survivor.members.extend(gone.members)
            gone.members = []
            gone.splittable = False
        else:
            self._seal(survivor)
            self._seal(gone)
        survivor.first = min(survivor.first, gone.first)
        survivor.last = max(survivor.last, gone.last)
        survivor.seen = max(survivor.seen or -math.inf, gone.seen or -math.inf)
        for outlet, t in gone.outlets.items():
            survivor.outlets[outlet] = max(t, survivor.outlets.get(outlet, t))
        have = set(survivor.indexed)
        extra = [t for t in gone.indexed if t not in have]
        extra = extra[: max(0, cfg.max_index_terms - len(survivor.indexed))]
        survivor.indexed.extend(extra)
        self._unindex_story(gone)
        if gone.dormant:
            self._forget(gone.id)
        gone.merged_into = survivor.id
        if self._lookup is not None:
            self._leaving[gone.id] = None
        if survivor.dormant:
            survivor.dormant = False
            self._forget(survivor.id)
        self._index_story(survivor)
        self._queue(survivor)
        self._union_groups(survivor, gone)
        self._group(survivor.group).discard(gone.id)
        self._dirty["g:" + survivor.group] = None
        self._dirty["s:" + survivor.id] = None
        self._dirty["s:" + gone.id] = None

    def _relate(self, story: _Story, ranked: list[tuple[float, _Story]]) -> None:
        """Link the story with candidates whose centroids are close enough (related group)."""
        cfg = self.config
        for cos_c, other in ranked:
            if other.id == story.id or cos_c < cfg.related_cosine:
                continue
            if story.group == other.group:
                continue
            size = len(self._group(story.group)) + len(self._group(other.group))
            if size > cfg.max_group_size:
                continue
            self._union_groups(story, other)

    def _union_groups(self, a: _Story, b: _Story) -> None:
        """Put the related-story groups of ``a`` and ``b`` together (the older group's id)."""
        if a.group == b.group:
            return
        ga, gb = self._story(a.group), self._story(b.group)
        keep, gone = (ga, gb) if ga.seq < gb.seq else (gb, ga)
        moved = self._group(gone.id)
        del self._groups[gone.id]
        for sid in moved:
            self._story(sid).group = keep.id
            self._dirty["s:" + sid] = None  # the story's record names its group
        self._group(keep.id).update(moved)
        self._dirty["g:" + keep.id] = None
        self._dirty["g:" + gone.id] = None

    def _answer(
        self,
        sid: str,
        article: Article,
        verdict: DedupVerdict,
        score: float,
        is_new: bool,
        merged: list[str],
        split: StorySplit | None = None,
    ) -> StoryAssignment:
        return StoryAssignment(
            story_id=sid,
            article=article,
            verdict=verdict,
            score=round(score, 6),
            is_new_story=is_new,
            merged_from=merged,
            related=self.related(sid),
            split=split,
        )
