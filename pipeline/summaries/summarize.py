"""Summary refresh: an extractive, cited, sectioned StoryUpdate from a story's articles."""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
from scipy import sparse

from pipeline.common.errors import BadInput
from pipeline.common.text import STOPWORDS, split_sentences, words
from pipeline.summaries.clean import (
    clean_sentence,
    is_caption_paragraph,
    is_future,
    is_quote,
    strip_dateline,
)
from schemas.records import (
    Article,
    CitedText,
    DedupVerdict,
    OutletCoverage,
    RelatedStory,
    Section,
    Source,
    StoryArticle,
    StoryUpdate,
    TimelineEntry,
)


@dataclass(frozen=True)
class SummaryConfig:
    """Tuning of the summary stage.

    Attributes:
        max_sections: most sections in a summary.
        min_sections: fewest sections wanted when the story has enough sentences.
        max_sentences: most sentences across all sections.
        target_words: stop selecting once the sections hold this many words.
        overview_sentences: the top-ranked sentences that open the summary as its first section.
        max_section_sentences: most sentences in one section.
        topic_distinct: a sub-topic leader is less similar than this to every chosen sentence.
        topic_similarity: a sentence joins a sub-topic only when at least this similar to it.
        min_sentence_words: shorter sentences are fragments, never selected.
        max_sentence_words: longer "sentences" are run-ons (usually a split failure).
        mmr_lambda: relevance versus novelty trade-off in maximal marginal relevance.
        coverage_weight: weight of the story terms (by how many articles use them) a sentence
            adds to the selection, per square root of its length.
        coverage_power: a term's coverage value is the share of articles using it to this
            power: the higher, the more the terms nearly every article uses dominate.
        redundancy_threshold: two selected sentences are never more similar than this.
        centroid_terms: the story centroid keeps this many top-weighted terms.
        lead_sentences: an article's lead is its first this many clean sentences.
        lead_weight: share of a sentence's relevance that is its closeness to what the
            articles' leads say (each article's lead one vote): the facts outlets corroborate
            where they put what matters most; the rest is closeness to the story centroid.
        position_weight: bonus for sentences early in their article (news leads).
        support_weight: bonus for sentences many articles report.
        recency_weight: bonus for sentences from the newest articles. Off by default: a
            newer report already replaces an older one where it changes a figure or fulfils
            an announcement (supersession), and the newest articles' other sentences are
            more often background than the story's corroborated facts.
        quote_penalty: malus for sentences opening with a direct quotation.
        anaphora_penalty: malus for sentences opening with a pronoun or "This"/"But", which
            lean on a sentence the summary may not carry.
        cite_similarity: cosine at which another article's sentence reports the same thing,
            so that article is cited too.
        claim_similarity: cosine at which an outlet "carries" a claim (minority reports and
            unique coverage).
        supersede_similarity: a future-tense sentence is dropped once a newer article has a
            sentence this similar that is not in future tense.
        update_similarity: an older sentence whose figures differ from a newer article's
            sentence at least this similar is superseded by it.
        new_similarity: a sentence is new when no sentence of the previous version is this similar.
        heading_max_words: most words in a section heading.
        max_whats_new: most items in ``whats_new``.
        max_minority_reports: most items in ``minority_reports``.
        minority_min_outlets: minority reports only when the story has this many outlets.
        max_unique_per_outlet: most ``unique_by_outlet`` items per outlet.
        max_timeline: most entries in ``timeline`` (the first day and the latest ones).
        max_documents: a bigger story is summarized from this many of its articles (originals,
            with their copies): the newest half and the most central of the others, so that a
            refresh costs about the same at 100 and at 10,000 articles.
        dense_cells: a story with at most this many sentence-term cells keeps its vectors
            as dense arrays (faster for small stories), a bigger one as sparse matrices.
    """

    max_sections: int = 5
    min_sections: int = 3
    max_sentences: int = 15
    target_words: int = 330
    overview_sentences: int = 4
    max_section_sentences: int = 3
    topic_distinct: float = 0.2
    topic_similarity: float = 0.12
    min_sentence_words: int = 6
    max_sentence_words: int = 55
    mmr_lambda: float = 0.65
    coverage_weight: float = 0.4
    coverage_power: float = 3.0
    redundancy_threshold: float = 0.35
    centroid_terms: int = 100
    lead_sentences: int = 2
    lead_weight: float = 0.3
    position_weight: float = 0.35
    support_weight: float = 0.3
    recency_weight: float = 0.0
    quote_penalty: float = 0.3
    anaphora_penalty: float = 0.1
    cite_similarity: float = 0.35
    claim_similarity: float = 0.35
    supersede_similarity: float = 0.3
    update_similarity: float = 0.45
    new_similarity: float = 0.5
    heading_max_words: int = 8
    max_whats_new: int = 5
    max_minority_reports: int = 3
    minority_min_outlets: int = 3
    max_unique_per_outlet: int = 2
    max_timeline: int = 8
    max_documents: int = 64
    dense_cells: int = 250_000


_MARKER = re.compile(r"\s*\[\d+\]")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
# Openers that lean on an earlier sentence: a pronoun or a connective.
_LEANING_WORDS = (
    "He|She|It|They|This|That|These|Those|His|Her|Its|Their|But|And|Also|However|"
    "Meanwhile|Still|Yet"
)
# A heading opening on one leans on a sentence it does not carry.
_LEANING_OPENER = re.compile(rf"^(?:{_LEANING_WORDS})\b", re.IGNORECASE)
_ANAPHORA = re.compile(rf"^(?:{_LEANING_WORDS}|The two)\b")
_TITLE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{2,60}$")
_TITLE_PREFIX = re.compile(
    r"^(?:UPDATE\s*\d*|UPDATED|BREAKING|WATCH|VIDEO|LIVE|EXCLUSIVE|ANALYSIS|OPINION)\s*[:|-]\s*",
    re.IGNORECASE,
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light suffix stripper: plural, -ing, -ed, -ly folded so "talks" meets "talk".

    Hand-written because no stemmer is among the runtime dependencies and matching sentences
    across articles only needs the commonest inflections folded.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, keep in (("ies", "y"), ("ing", ""), ("edly", ""), ("ed", ""), ("es", ""),
                         ("ly", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            if suffix == "es" and not word.endswith(("shes", "ches", "xes", "sses", "zes")):
                continue
            return word[: len(word) - len(suffix)] + keep
    return word


def terms_of(text: str) -> list[str]:
    """Stemmed content-word terms of a text."""
    return list(_terms(text))


@lru_cache(maxsize=65_536)
def _terms(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in words(text) if len(w) > 1 and w not in STOPWORDS)


def strip_markers(text: str) -> str:
    """A section text without its [n] citation markers."""
    return _MARKER.sub("", text).strip()


def clean_title(title: str, outlet: str = "") -> str:
    """A headline without "| Outlet" suffixes or "UPDATE:" style prefixes."""
    t = strip_dateline(" ".join(title.split()))
    t = _TITLE_PREFIX.sub("", t)
    for _ in range(2):
        m = _TITLE_SUFFIX.search(t)
        if not m:
            break
        suffix = m.group(0).strip(" |–—-").lower()
        head = t[: m.start()]
        short = len(suffix.split()) <= 4
        outletish = outlet and (suffix in outlet.lower() or outlet.lower() in suffix)
        keep = 2 if outletish or "|" in m.group(0) else 3
        if (outletish or (short and "|" in m.group(0))) and len(head.split()) >= keep:
            t = head
        else:
            break
    return t.strip()


@dataclass(slots=True)
class _Sentence:
    idx: int
    doc: int  # index into the story's source documents
    pos: int  # index among the article's clean sentences
    text: str
    n_words: int
    future: bool
    quote: bool


@dataclass(slots=True)
class _Doc:
    article: Article
    copies: list[Article]  # syndicated / light-edit copies, cited as this article
    order: int  # arrival order among members


def summarize_story(
    story_id: str,
    members: Sequence[tuple[Article, DedupVerdict]],
    *,
    version: int,
    previous: StoryUpdate | None,
    related: Sequence[RelatedStory] = (),
    now: float,
    config: SummaryConfig | None = None,
    citations: Mapping[str, int] | None = None,
) -> StoryUpdate:
    """Summarize a story's current articles into a StoryUpdate.

    Args:
        story_id: the story's stable id.
        members: the story's articles in arrival order, revisions applied and resends removed;
            copies carry ``verdict.duplicate_of`` and are counted and listed but not summarized.
        version: the version number of this update.
        previous: the last published update of the story, if any (drives ``whats_new``).
        related: related stories, passed through.
        now: the update time (event time of the refresh).
        config: tuning; defaults to ``SummaryConfig()``.
        citations: the source number [n] every article of the story ever got (article id ->
            n); those articles keep it, new ones get the next free numbers. Defaults to the
            numbers of ``previous``'s sources.

    Raises:
        BadInput: when the story has no articles.
    """
    cfg = config or SummaryConfig()
    if citations is None:
        citations = {src.article_id: src.n for src in previous.sources} if previous else {}
    if not members:
        raise BadInput(f"story {story_id} has no articles")
    docs, copy_of = _documents(members)
    docs = _bounded(docs, cfg.max_documents)
    sents = _sentences(docs, cfg)
    model = _Model(docs, sents, cfg)
    ranking = model.rank()
    groups = model.topic_sections(ranking)

    cite = _Citations(docs, citations)
    headline = model.headline()
    taken = {headline.lower()}
    sections: list[Section] = []
    for group in groups:
        parts, cited = [], set()
        for s in group:
            ns = cite.numbers(model.supporters(s, cfg.cite_similarity))
            cited.update(ns)
            parts.append(_with_markers(sents[s].text, ns))
        sections.append(
            Section(
                heading=model.heading(group, cfg.heading_max_words, taken),
                text=" ".join(parts),
                citations=sorted(cited),
            )
        )

    in_sections = {s for g in groups for s in g}
    whats_new = _whats_new(model, cite, ranking, in_sections, previous, cfg)
    minority = _minority(model, cite, ranking, in_sections, docs, cfg)
    # A sentence is shown once a page: unique coverage skips what the sections and the
    # minority reports already say.
    shown = in_sections | {s for s in ranking if model.sents[s].text in {m.text for m in minority}}
    unique = _unique(model, cite, ranking, docs, cfg, shown)

    timeline = _timeline(model, cite, headline, cfg)
    outlets = list(dict.fromkeys(article.outlet for article, _ in members))
    n = len(members)
    return StoryUpdate(
        story_id=story_id,
        version=version,
        updated_at=now,
        first_seen=min(a.published for a, _ in members),
        headline=headline,
        status_line=f"Updated ({n} {'article' if n == 1 else 'articles'})",
        article_count=n,
        outlets=outlets,
        sections=sections,
        sources=cite.sources(),
        whats_new=whats_new,
        minority_reports=minority,
        unique_by_outlet=unique,
        related_stories=list(related),
        timeline=timeline,
        articles=[
            StoryArticle(
                article_id=a.id,
                outlet=a.outlet,
                title=a.title,
                url=a.url,
                published=a.published,
                duplicate_of=copy_of.get(a.id),
            )
            for a, _ in members
        ],
    )


def _documents(
    members: Sequence[tuple[Article, DedupVerdict]],
) -> tuple[list[_Doc], dict[str, str]]:
    """Source documents (originals with their copies) and each copy's original id."""
    ids = {a.id for a, _ in members}
    raw = {a.id: v.duplicate_of for a, v in members if v.duplicate_of and v.duplicate_of != a.id}
    copy_of: dict[str, str] = {}
    for aid, target in raw.items():
        seen = {aid}
        while target in raw and target not in seen:  # follow chains to the first original
            seen.add(target)
            target = raw[target]
        copy_of[aid] = target
    docs: list[_Doc] = []
    by_id: dict[str, _Doc] = {}
    for order, (article, _) in enumerate(members):
        target = copy_of.get(article.id)
        if target is not None and target in ids and target not in copy_of:
            continue
        doc = _Doc(article=article, copies=[], order=order)
        docs.append(doc)
        by_id[article.id] = doc
    for article, _ in members:
        target = copy_of.get(article.id)
        if target in by_id and article.id not in by_id:
            by_id[target].copies.append(article)
    return docs, copy_of


def _bounded(docs: list[_Doc], limit: int) -> list[_Doc]:
    """At most ``limit`` documents: the newest half, then the most central of the others.

    A document is central when its title's words are the ones most of the story's titles
    use (their mean share of titles, over the square root of the title's length), plus a
    little for each copy other outlets carried. Title words are cached, so choosing among
    thousands of articles takes milliseconds. Documents keep their order.
    """
    if len(docs) <= limit:
        return docs
    n = len(docs)
    newest = set(heapq.nlargest(limit // 2, range(n), key=lambda d: (docs[d].article.published, d)))
    titles = [_title_terms(doc.article.title or "") for doc in docs]
    df = Counter(chain.from_iterable(titles))
    get = df.__getitem__
    score = [
        sum(map(get, terms)) / (n * math.sqrt(len(terms)) if terms else n)
        + (0.05 * math.log1p(len(doc.copies)) if doc.copies else 0.0)
        for terms, doc in zip(titles, docs, strict=True)
    ]
    others = heapq.nsmallest(
        limit - len(newest), (d for d in range(n) if d not in newest), key=lambda d: (-score[d], d)
    )
    chosen = newest | set(others)
    return [doc for d, doc in enumerate(docs) if d in chosen]


@lru_cache(maxsize=65536)
def _title_terms(title: str) -> frozenset[str]:
    return frozenset(_terms(title))


def _sentences(docs: Sequence[_Doc], cfg: SummaryConfig) -> list[_Sentence]:
    out: list[_Sentence] = []
    for d, doc in enumerate(docs):
        art = doc.article
        for pos, text in enumerate(
            _clean_sentences(
                art.text,
                tuple(art.captions),
                cfg.min_sentence_words,
                cfg.max_sentence_words,
            )
        ):
            out.append(
                _Sentence(
                    idx=len(out),
                    doc=d,
                    pos=pos,
                    text=text,
                    n_words=len(text.split()),
                    future=is_future(text),
                    quote=is_quote(text),
                )
            )
    return out


@lru_cache(maxsize=4096)
def _clean_sentences(
    text: str,
    captions: tuple[str, ...],
    min_words: int,
    max_words: int,
) -> tuple[str, ...]:
    """An article's summary-worthy sentences in order, without repeats.

    Cached: a story refresh re-reads every member, and only the newest article is new.
    """
    # Title and subtitle lines are not skipped: a scraper may have taken the lead sentence
    # for the title, and a headline-shaped line fails the sentence checks anyway.
    skip = set(captions)
    caption_set = frozenset(c.strip() for c in captions)
    seen: set[str] = set()
    out = []
    for para in text.split("\n"):
        para = para.strip()
        if not para or para in skip or is_caption_paragraph(para):
            continue
        for raw in split_sentences(para):
            clean = clean_sentence(
                raw, min_words=min_words, max_words=max_words, captions=caption_set
            )
            if clean is None or clean in seen:
                continue
            seen.add(clean)
            out.append(clean)
    return tuple(out)


def _matrix(
    rows: Sequence[int] | np.ndarray,
    cols: Sequence[int] | np.ndarray,
    vals: Sequence[float] | np.ndarray,
    shape: tuple[int, int],
    dense: bool,
) -> np.ndarray | sparse.csr_matrix:
    """A matrix from (row, column, value) triples, each cell given once."""
    if not dense:
        return sparse.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float64)
    out = np.zeros(shape)
    out[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)] = vals
    return out


def _unit_rows(m: np.ndarray | sparse.spmatrix) -> np.ndarray | sparse.csr_matrix:
    """Each row divided by its length (rows of zeros stay zero)."""
    if isinstance(m, np.ndarray):
        norms = np.sqrt((m * m).sum(axis=1))
        norms[norms == 0] = 1.0
        return m / norms[:, np.newaxis]
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(m.multiply(1.0 / norms[:, np.newaxis]))


def _dense(m: np.ndarray | sparse.spmatrix | np.matrix) -> np.ndarray:
    """A matrix result as a plain array."""
    return m.toarray() if sparse.issparse(m) else np.asarray(m)


class _Model:
    """TF-IDF sentence vectors of one story with the scores the selection needs."""

    def __init__(self, docs: Sequence[_Doc], sents: Sequence[_Sentence], cfg: SummaryConfig):
        self.docs = docs
        self.sents = sents
        self.cfg = cfg
        self.vocab: dict[str, int] = {}
        self.surface: dict[str, Counter[str]] = {}
        rows, cols, vals = [], [], []
        self.term_lists: list[list[int]] = []
        for s in sents:
            counts = Counter(self._ids(s.text, learn=True))
            self.term_lists.append(list(counts))
            for t, c in counts.items():
                rows.append(s.idx)
                cols.append(t)
                vals.append(1.0 + math.log(c))
        n, v = len(sents), len(self.vocab)
        sent_df = np.bincount(cols, minlength=v).astype(np.float64) if cols else np.zeros(v)
        self.idf = np.log((1.0 + n) / (1.0 + sent_df)) + 1.0
        # A small story's vectors are dense arrays: sparse matrices cost more to build and
        # multiply than they save until a story has thousands of sentence-term cells.
        self.dense = n * v <= self.cfg.dense_cells
        tf = _matrix(rows, cols, vals, (n, v), self.dense)
        self.x = _unit_rows(tf * self.idf if self.dense else tf.multiply(self.idf[np.newaxis, :]))
        self.sim = _dense(self.x @ self.x.T) if n else np.zeros((0, 0))
        # Article document frequency of each term: what most of the story's articles mention.
        doc_terms = [set() for _ in docs]
        for s, ids in zip(sents, self.term_lists, strict=True):
            doc_terms[s.doc].update(ids)
        self.doc_df = np.zeros(v)
        for ts in doc_terms:
            for t in ts:
                self.doc_df[t] += 1
        self.doc_of = np.array([s.doc for s in sents], dtype=np.int64)
        # the numbers each sentence gives (updated figures, departing claims)
        self.figures = [frozenset(_NUMBER.findall(s.text)) for s in sents]

    def _ids(self, text: str, *, learn: bool) -> list[int]:
        out = []
        for t in _terms(text):
            i = self.vocab.get(t)
            if i is None:
                if not learn:
                    continue
                i = self.vocab[t] = len(self.vocab)
            out.append(i)
        return out

    def vectorize(self, texts: Sequence[str]) -> np.ndarray | sparse.csr_matrix:
        """Unit TF-IDF vectors of outside texts in this story's term space."""
        rows, cols, vals = [], [], []
        for r, text in enumerate(texts):
            for t, c in Counter(self._ids(text, learn=False)).items():
                rows.append(r)
                cols.append(t)
                vals.append((1.0 + math.log(c)) * self.idf[t])
        return _unit_rows(_matrix(rows, cols, vals, (len(texts), len(self.vocab)), self.dense))

    def terms_of(self, i: int) -> np.ndarray:
        """The term ids of sentence ``i``."""
        return np.flatnonzero(self.x[i]) if self.dense else self.x[i].indices

    # -- relevance -------------------------------------------------------------------------

    def centroid(self) -> np.ndarray:
        """Story centroid: terms weighted by how many articles use them, times their idf."""
        n_docs = max(len(self.docs), 1)
        weight = (self.doc_df / n_docs) * self.idf
        # Terms used in a single article of a multi-article story matter less.
        if n_docs > 2:
            weight = weight * np.where(self.doc_df >= 2, 1.0, 0.5)
        tf_total = _dense(self.x.sum(axis=0)).ravel() if len(self.sents) else weight
        weight = weight * np.log1p(tf_total)
        if len(weight) > self.cfg.centroid_terms:
            cut = np.sort(weight)[-self.cfg.centroid_terms]
            weight = np.where(weight >= cut, weight, 0.0)
        norm = np.linalg.norm(weight)
        return weight / norm if norm else weight

    def lead_centroid(self) -> np.ndarray:
        """What the articles' leads say: the sum of each article's unit lead vector (its first
        ``lead_sentences`` sentences), so a term counts once per article whose lead has it."""
        lead = np.flatnonzero(
            np.array([s.pos < self.cfg.lead_sentences for s in self.sents], dtype=bool)
        )
        if not len(lead):
            return np.zeros(len(self.vocab))
        shape = (len(self.docs), len(self.sents))
        by_doc = _matrix(self.doc_of[lead], lead, np.ones(len(lead)), shape, self.dense)
        per_doc = _unit_rows(by_doc @ self.x)
        total = _dense(per_doc.sum(axis=0)).ravel()
        norm = np.linalg.norm(total)
        return total / norm if norm else total

    def rank(self) -> list[int]:
        """Sentence indices, best first, with the scores kept in ``self.score``."""
        n = len(self.sents)
        if n == 0:
            self.score = np.zeros(0)
            return []
        cfg = self.cfg
        rel = self.x @ self.centroid()
        if cfg.lead_weight:
            rel = (1 - cfg.lead_weight) * rel + cfg.lead_weight * (self.x @ self.lead_centroid())
        top = rel.max() or 1.0
        rel = rel / top
        pos = np.array([s.pos for s in self.sents], dtype=np.float64)
        length = np.array([s.n_words for s in self.sents], dtype=np.float64)
        n_docs = len(self.docs)
        # Support: how many other articles have a sentence on the same thing.
        close = self.sim >= cfg.claim_similarity
        support = np.zeros(n)
        if n_docs > 1:
            hits = np.zeros((n, n_docs), dtype=bool)
            for d in range(n_docs):
                hits[:, d] = close[:, self.doc_of == d].any(axis=1)
            support = (hits.sum(axis=1) - 1) / (n_docs - 1)
        order = sorted(range(n_docs), key=lambda d: (self.docs[d].article.published, d))
        recency_of_doc = np.zeros(n_docs)
        for r, d in enumerate(order):
            recency_of_doc[d] = r / (n_docs - 1) if n_docs > 1 else 1.0
        recency = recency_of_doc[self.doc_of]
        score = (
            rel * np.minimum(1.0, length / 15.0)
            + cfg.position_weight / np.sqrt(1.0 + pos)
            + cfg.support_weight * support
            + cfg.recency_weight * recency
            - cfg.quote_penalty * np.array([s.quote for s in self.sents], dtype=np.float64)
            - cfg.anaphora_penalty
            * np.array([_ANAPHORA.match(s.text) is not None for s in self.sents], dtype=np.float64)
        )
        superseded = self._superseded()
        score[superseded] -= 10.0
        self.score = score
        self.superseded = superseded
        return sorted(range(n), key=lambda i: (-score[i], i))

    def _superseded(self) -> np.ndarray:
        """Sentences a newer article has overtaken.

        Two cases: a future-tense sentence ("will open") once a newer article has a similar
        sentence that is not in future tense ("opened"); and a figure that changed, where a
        newer article has a close sentence with other numbers ("12 killed" after "8 killed").
        """
        cfg = self.cfg
        n = len(self.sents)
        out = np.zeros(n, dtype=bool)
        published = np.array([self.docs[s.doc].article.published for s in self.sents])
        later_done = np.array([not s.future for s in self.sents])
        figures = self.figures
        for s in self.sents:
            newer = published > published[s.idx]
            if not newer.any():
                continue
            row = self.sim[s.idx]
            if s.future and ((row >= cfg.supersede_similarity) & newer & later_done).any():
                out[s.idx] = True
            elif figures[s.idx]:
                for t in np.flatnonzero(newer & (row >= cfg.update_similarity)):
                    if figures[t] and figures[t] != figures[s.idx]:
                        out[s.idx] = True
                        break
        return out

    # -- selection ---------------------------------------------------------------------------

    def topic_sections(self, ranking: Sequence[int]) -> list[list[int]]:
        """Sections by sub-topic: an overview, then one section per sub-topic leader.

        The overview is the first greedy picks (relevance, novelty, term coverage). Sub-topic
        leaders are the next picks that stay clearly apart from everything chosen; each leader
        then gathers the best non-redundant sentences closer to it than to any other section.
        """
        cfg = self.cfg
        candidates = [i for i in ranking if not self.superseded[i]]
        if not candidates:
            return []
        n = len(self.sents)
        score = self.score
        lo, hi = float(score[candidates].min()), float(score[candidates].max())
        norm = (score - lo) / (hi - lo) if hi > lo else np.ones(n)
        weight = (self.doc_df / max(len(self.docs), 1)) ** cfg.coverage_power
        binary = (self.x != 0).astype(np.float64)
        root_len = np.sqrt(np.array([s.n_words for s in self.sents], dtype=np.float64))
        uncovered = np.ones(len(self.vocab))
        alive = np.zeros(n, dtype=bool)
        alive[candidates] = True
        max_sim = np.zeros(n)
        words_used = 0
        taken_count = 0

        def pick(mask: np.ndarray) -> int:
            val = cfg.mmr_lambda * norm - (1 - cfg.mmr_lambda) * max_sim
            if cfg.coverage_weight:
                gain = binary @ (weight * uncovered) / root_len
                top = gain[mask].max() if mask.any() else 0.0
                if top > 0:
                    val = val + cfg.coverage_weight * gain / top
            val = np.where(mask & (max_sim < cfg.redundancy_threshold), val, -np.inf)
            best = int(np.argmax(val))
            return best if np.isfinite(val[best]) else -1

        def room() -> bool:
            return words_used < cfg.target_words and taken_count < cfg.max_sentences

        def take(i: int) -> None:
            nonlocal max_sim, words_used, taken_count
            taken_count += 1
            alive[i] = False
            max_sim = np.maximum(max_sim, self.sim[i])
            uncovered[self.terms_of(i)] = 0.0
            words_used += self.sents[i].n_words

        overview: list[int] = []
        while len(overview) < cfg.overview_sentences and room():
            i = pick(alive)
            if i < 0:
                break
            overview.append(i)
            take(i)
        sections = [overview]
        while len(sections) < cfg.max_sections and room():
            # Leaders stand apart from all chosen; below min_sections any sentence may lead.
            distinct = max_sim < cfg.topic_distinct
            i = pick(alive & distinct)
            if i < 0 and len(sections) < cfg.min_sections:
                i = pick(alive)
            if i < 0:
                break
            sections.append([i])
            take(i)
        if len(sections) > 1:
            # Each remaining sentence belongs to the section holding its closest sentence.
            members = [np.array(g) for g in sections]
            closeness = np.stack([self.sim[:, g].max(axis=1) for g in members], axis=1)
            home = np.argmax(closeness, axis=1)
            near = closeness.max(axis=1) >= cfg.topic_similarity
            progress = True
            while progress and room():
                progress = False
                for k in range(len(sections)):
                    cap = cfg.max_section_sentences + (1 if k == 0 else 0)
                    if len(sections[k]) >= cap:
                        continue
                    if not room():
                        break
                    i = pick(alive & (home == k) & near)
                    if i < 0:
                        continue
                    sections[k].append(i)
                    take(i)
                    progress = True
        # Budget left: important sentences no section gathered open sections of their own.
        while len(sections) < cfg.max_sections and room():
            i = pick(alive)
            if i < 0:
                break
            sections.append([i])
            take(i)
        return [g for g in sections if g]

    # -- support and wording -----------------------------------------------------------------

    def supporters(self, s: int, threshold: float) -> list[int]:
        """Documents reporting sentence ``s``: its own first, then others by arrival."""
        own = self.sents[s].doc
        others = {int(d) for d in self.doc_of[self.sim[s] >= threshold]} - {own}
        return [own, *sorted(others)]

    def outlets_carrying(self, s: int) -> set[str]:
        out: set[str] = set()
        for d in self.supporters(s, self.cfg.claim_similarity):
            out.add(self.docs[d].article.outlet)
            out.update(c.outlet for c in self.docs[d].copies)
        return out

    def headline(self) -> str:
        """The cleaned title closest to the story centroid, newer titles preferred on ties."""
        docs = self.docs
        titles = [clean_title(d.article.title, d.article.outlet) for d in docs]
        if not any(titles):
            return self.sents[int(np.argmax(self.score))].text if self.sents else ""
        if len(self.vocab) == 0:
            return next(t for t in titles if t)
        vec = self.vectorize(titles)
        rel = vec @ self.centroid()
        n = len(docs)
        order = sorted(range(n), key=lambda d: (docs[d].article.published, d))
        recency = {d: r / max(n - 1, 1) for r, d in enumerate(order)}

        def fit(d: int) -> float:
            # Headlines are short phrases; a sentence-like or very long "title" is usually a
            # lead sentence the scraper took for one.
            n_words = len(titles[d].split())
            shape = 0.0
            if n_words > 14:
                shape -= 0.02 * (n_words - 14)
            if n_words < 4:
                shape -= 0.1
            if titles[d].endswith("."):
                shape -= 0.1
            if titles[d].endswith(("…", "...")):
                shape -= 0.15
            return float(rel[d]) + 0.05 * recency[d] + shape

        best = max((d for d in range(n) if titles[d]), key=lambda d: (fit(d), -d))
        return titles[best]

    def heading(self, group: Sequence[int], max_words: int, taken: set[str]) -> str:
        """A headline-style clause compressed from the section's most central sentence.

        The section's sentences are tried most central first (closest to the section's other
        sentences; ties to the earlier pick): the first that compresses to a clause (see
        :meth:`_clause_heading`) not used yet heads the section. Failing all, the most central
        sentence's opening words, cut back to a content word. ``taken`` holds the headings
        already used (and the headline), in lower case.
        """
        order = self.central_first(group)
        best = self._clause_heading(order, max_words, taken)
        if not best:
            best = self._opening_words(order, max_words, taken)
        taken.add(best.lower())
        return best[:1].upper() + best[1:]

    def central_first(self, group: Sequence[int]) -> list[int]:
        """The group's sentences by their mean similarity to the group's others, highest first."""
        if len(group) < 3:
            return list(group)
        block = self.sim[np.ix_(group, group)]
        closeness = (block.sum(axis=1) - block.diagonal()) / (len(group) - 1)
        # rounded: dense and sparse vectors differ in the last bits, and a tie goes to order
        closeness = np.round(closeness, 9)
        return [group[k] for k in sorted(range(len(group)), key=lambda k: (-closeness[k], k))]

    def _opening_words(self, order: Sequence[int], max_words: int, taken: set[str]) -> str:
        """A sentence's first ``max_words`` words, never ending on a bare figure, a function
        word or an edge word: the first such opening not used yet, preferring one that does
        not open on a pronoun or a connective (else the first)."""
        openings = []
        for s in order:
            ws = _trim(self.sents[s].text, max_words).split()
            while len(ws) > 2 and (
                ws[-1][:1].isdigit() or ws[-1].lower() in STOPWORDS or ws[-1].lower() in _EDGE_WORDS
            ):
                ws.pop()
            openings.append(" ".join(ws))
        fresh = [o for o in openings if o.lower() not in taken]
        return next((o for o in fresh if not _LEANING_OPENER.match(o)), (fresh or openings)[0])

    def _clause_heading(self, group: Sequence[int], max_words: int, taken: set[str]) -> str:
        """Who did what, compressed from one of the section's best sentences.

        A sentence that quotes someone gives the quotation; either loses a leading adverbial
        ("In a later meeting, ..."), appositives naming where someone is from ("of the
        Republic of Korea"), its attribution and everything after its first clause. A clause
        still too long is cut before a preposition ("... cooperation | in areas ..."). It is
        kept when it has 4 to ``max_words`` words, a verb after its first word and a content
        word at its end. A clause opening on a pronoun or a connective ("They also engaged
        in ...") leans on a sentence the heading does not carry: failing every other
        sentence, what it is about ("Earnest discussions to find common ground") heads the
        section instead. Empty when no sentence of ``group`` qualifies.
        """
        limit = max_words
        about: list[str] = []
        for s in group:
            text = strip_markers(self.sents[s].text)
            quoted = _QUOTED.search(text)
            if quoted and quoted.group(1)[:1].isupper():  # a quoted sentence, not a phrase
                text = quoted.group(1)
            text = _LEADING_ADVERBIAL.sub("", text)
            text = _APPOSITIVE.sub(r"\1", _DASH.split(text, 1)[0])
            words = _trim(text, 1000).split()  # the whole first clause
            if len(words) > limit:
                cuts = [
                    k
                    for k in range(5, limit + 1)
                    if words[k].lower() in _PREPOSITIONS
                    and any(_verbish(w.strip(",.;:")) for w in words[1:k])
                ]
                words = words[: cuts[-1]] if cuts else []
            head = " ".join(words).strip(",;: ")
            words = head.split()
            if not 4 <= len(words) <= limit or any(q in head for q in "\"“”‘’("):
                continue
            last = words[-1].lower().strip(",.;:")
            if last in STOPWORDS or last in _EDGE_WORDS or not last.isalpha():
                continue
            if not any(_verbish(w.strip(",.;:")) for w in words[1:]):
                continue
            if _LEANING_OPENER.match(head):
                about.append(_what_it_is_about(words, limit))
                continue
            if head.lower() in taken:
                continue
            return head[:1].upper() + head[1:]
        phrase = next((a for a in about if a and a.lower() not in taken), "")
        return phrase[:1].upper() + phrase[1:]


def _what_it_is_about(words: list[str], max_words: int) -> str:
    """The words after a clause's first verb (and a preposition right after it), up to
    ``max_words`` and back to a content word; empty when fewer than two remain."""
    verb = next((k for k, w in enumerate(words) if k and _verbish(w.strip(",.;:"))), None)
    if verb is None:
        return ""
    rest = words[verb + 1 :]
    if rest and rest[0].lower() in _PREPOSITIONS:
        rest = rest[1:]
    rest = rest[:max_words]
    while rest:
        last = rest[-1].strip(",.;:")
        low = last.lower()
        if last.isalpha() and not (low in STOPWORDS or low in _EDGE_WORDS or low in _PREPOSITIONS):
            break
        rest = rest[:-1]
    return " ".join(rest).strip(",;: ") if len(rest) >= 2 else ""

def _verbish(token: str) -> bool:
    return token.islower() and (
        token.endswith(("ed", "ly")) or token in _VERBS or (token.endswith("s") and len(token) < 5)
    )


_VERB_WORDS = (
    "met meet meets hold holds held took take takes make makes made give gives gave seek "
    "seeks sought find found agree agreed warn warns urge urges called call calls expect "
    "expects reaffirm reaffirmed discuss discussed pledge pledged mark marks noted added "
    "another several many much last next former despite including amid according earlier "
    "later likewise already however meanwhile although though whether saying adding "
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow "
    "week weeks month months year years day days time back away ago"
)
_VERBS = frozenset(_VERB_WORDS.split())

# Words a heading phrase never starts or ends with: prepositions and adverbs the stop list
# lacks, number words and common irregular verb forms ("Flames downhill toward", "still
# works three" are cut fragments, not topics).
_EDGE_WORDS = frozenset(
    """toward towards across along among amid around behind beside beyond inside near onto
    outside past per since upon via within without instead still least less else even
    ever never often once rather soon yet almost nearly perhaps already left right
    three four five six seven eight nine ten dozen hundred thousand million billion
    blew broke brought built came cut drove fell felt flew gave got grew hit kept knew led
    lost paid put ran rose sent set spent stood threw took went won wrote works starts
    remains remained began become became begin help""".split()
)


_LEADING_ADVERBIAL = re.compile(
    r"^(?:(?:In|On|At|After|Before|During|Despite|Meanwhile|However|Earlier|Later|Also|Since|"
    r"Following|Amid|Likewise|Separately)\b[^,]{0,80}"
    r"|(?:This|Last|Next) (?:morning|afternoon|evening|week|month|year)),\s*"
)
_DASH = re.compile(r"\s*[—–]\s*|\s+-\s+")
_QUOTED = re.compile(r"[\"“]([^\"“”]{20,}?)[,.]?[\"”]")
_PREPOSITIONS = frozenset(
    "in of on at for to with from by during including into about against between under over "
    "after before amid across through toward towards".split()
)
_APPOSITIVE = re.compile(r"\b([A-Z][\w-]*)(?: of (?:the )?(?:[A-Z][\w-]+ ?)+)+(?=[ ,])")
_ATTRIBUTION = re.compile(r",? (?:[\w.'’-]+ ){0,4}(?:said|says|told \w+|reported|added)$")
_CLAUSE_CUT = re.compile(r",\s+| (?:and|while|after|as|but|which|when|because|following) ")


def _trim(text: str, max_words: int) -> str:
    """A sentence shortened to a heading: attribution off, first clause, at most max_words."""
    body = _ATTRIBUTION.sub("", text.rstrip(".!?\"”’ "))
    for m in _CLAUSE_CUT.finditer(body):
        if len(body[: m.start()].split()) >= 4:
            body = body[: m.start()]
            break
    ws = body.split()
    if len(ws) > max_words:
        ws = ws[:max_words]
        while ws and ws[-1].lower() in STOPWORDS:
            ws.pop()
    return " ".join(ws)


def _with_markers(text: str, numbers: Sequence[int]) -> str:
    marks = "".join(f"[{n}]" for n in numbers)
    if text.endswith(".") and not text.endswith(".."):
        return f"{text[:-1]} {marks}."
    return f"{text} {marks}"


class _Citations:
    """Numbers sources in order of first citation; copies are cited as their original.

    An article numbered by an earlier version (``known``: article id -> n) keeps its number,
    so a reader's "[2]" means the same source in every version; others get the next free one.
    """

    def __init__(self, docs: Sequence[_Doc], known: Mapping[str, int] | None = None):
        self.docs = docs
        self.known = dict(known or {})
        self.next = max(self.known.values(), default=0) + 1
        self.number: dict[int, int] = {}

    def numbers(self, doc_indices: Sequence[int]) -> list[int]:
        for d in doc_indices:
            if d not in self.number:
                given = self.known.get(self.docs[d].article.id)
                if given is None:
                    given, self.next = self.next, self.next + 1
                self.number[d] = given
        return sorted(self.number[d] for d in doc_indices)

    def sources(self) -> list[Source]:
        out = []
        for d, n in sorted(self.number.items(), key=lambda p: p[1]):
            a = self.docs[d].article
            out.append(
                Source(
                    n=n,
                    article_id=a.id,
                    outlet=a.outlet,
                    title=clean_title(a.title, a.outlet),
                    url=a.url,
                )
            )
        return out


def _timeline(
    model: _Model, cite: _Citations, headline: str, cfg: SummaryConfig
) -> list[TimelineEntry]:
    """The story's developments by day: each day's most representative article, by its title.

    A day's article is the one holding that day's best-ranked sentence; the entry is its
    headline, at its publication time, citing it and the same day's articles whose titles
    say mostly the same. The first day and the latest ones are kept.
    """
    if not model.sents:
        return []
    best_of_doc: dict[int, float] = {}
    for s, score in enumerate(model.score):
        d = int(model.doc_of[s])
        best_of_doc[d] = max(best_of_doc.get(d, float("-inf")), float(score))
    days: dict[int, list[int]] = {}
    for d in best_of_doc:
        days.setdefault(int(model.docs[d].article.published // 86400), []).append(d)
    entries: list[tuple[float, str, list[int]]] = []
    for day in sorted(days):
        ranked = sorted(days[day], key=lambda d: (-best_of_doc[d], d))
        for d in ranked:
            article = model.docs[d].article
            title = clean_title(article.title, article.outlet)
            words = set(terms_of(title))
            if len(words) < 3 or title.lower() == headline.lower():
                continue
            alike = [
                o
                for o in ranked
                if o != d
                and len(words & set(terms_of(model.docs[o].article.title or "")))
                >= 0.5 * len(words)
            ]
            entries.append((article.published, title, [d, *sorted(alike)]))
            break
    if len(entries) > cfg.max_timeline:
        entries = entries[:1] + entries[-(cfg.max_timeline - 1) :]
    return [
        TimelineEntry(time=when, text=text, citations=cite.numbers(docs))
        for when, text, docs in entries
    ]


def _previous_sentences(previous: StoryUpdate) -> list[str]:
    out = []
    for sec in previous.sections:
        out.extend(split_sentences(strip_markers(sec.text)))
    out.extend(item.text for item in previous.whats_new)
    return out


def _whats_new(
    model: _Model,
    cite: _Citations,
    ranking: Sequence[int],
    in_sections: set[int],
    previous: StoryUpdate | None,
    cfg: SummaryConfig,
) -> list[CitedText]:
    """Sentences, best first, that no sentence of the previous version already said."""
    if previous is None or not model.sents:
        return []
    before = _previous_sentences(previous)
    known_titles = {a.article_id: a.title for a in previous.articles}
    old = model.vectorize(before) if before else None
    # Only articles the previous version did not list (or listed under another title: a
    # revision) bring news: a sentence of an older article that moved into the sections is not.
    fresh_docs = {
        d
        for d, doc in enumerate(model.docs)
        if known_titles.get(doc.article.id) != doc.article.title
    }
    candidates = [s for s in ranking if s in in_sections and model.sents[s].doc in fresh_docs]
    candidates += [
        s for s in ranking if s not in in_sections and model.sents[s].doc in fresh_docs
    ]
    out: list[CitedText] = []
    taken: list[int] = []
    for s in candidates:
        if model.superseded[s]:
            continue
        if old is not None:
            sims = _dense(old @ model.x[s].T).ravel()
            known = [before[j] for j in np.flatnonzero(sims >= cfg.new_similarity)]
            # Known unless every earlier match announced it ("will open") and this reports it.
            if known and (model.sents[s].future or not all(is_future(k) for k in known)):
                continue
        if any(model.sim[s, t] >= cfg.redundancy_threshold for t in taken):
            continue
        taken.append(s)
        out.append(CitedText(text=model.sents[s].text,
                             citations=cite.numbers(model.supporters(s, cfg.cite_similarity))))
        if len(out) >= cfg.max_whats_new:
            break
    return out


def _minority(
    model: _Model,
    cite: _Citations,
    ranking: Sequence[int],
    in_sections: set[int],
    docs: Sequence[_Doc],
    cfg: SummaryConfig,
) -> list[CitedText]:
    """Claims that depart from what most outlets report, then claims only one or two carry.

    A departing claim gives other figures than a close sentence more outlets carry ("8
    killed" where most say "12"), without being an older figure a newer report replaced.
    """
    outlets = {d.article.outlet for d in docs} | {c.outlet for d in docs for c in d.copies}
    if len(outlets) < cfg.minority_min_outlets or not model.sents:
        return []
    limit = 1 if len(outlets) < 5 else 2
    out: list[CitedText] = []
    taken: list[int] = []
    for s in _contradicting(model, ranking, cfg):
        if any(model.sim[s, t] >= cfg.claim_similarity for t in taken):
            continue
        taken.append(s)
        out.append(
            CitedText(
                text=model.sents[s].text,
                citations=cite.numbers([model.sents[s].doc]),
                outlets=sorted(_agreeing_outlets(model, s, cfg)),
            )
        )
        if len(out) >= cfg.max_minority_reports:
            return out
    said = sorted(in_sections)
    for s in ranking[: max(40, len(ranking) // 3)]:
        if s in in_sections or model.superseded[s] or model.sents[s].quote:
            continue
        if said and model.sim[s, said].max() >= cfg.claim_similarity:
            continue
        carrying = model.outlets_carrying(s)
        if len(carrying) > limit or not _claimlike(model.sents[s].text):
            continue
        if any(model.sim[s, t] >= cfg.claim_similarity for t in taken):
            continue
        taken.append(s)
        supporters = model.supporters(s, cfg.claim_similarity)
        out.append(
            CitedText(
                text=model.sents[s].text,
                citations=cite.numbers(supporters),
                outlets=sorted(carrying),
            )
        )
        if len(out) >= cfg.max_minority_reports:
            break
    return out


def _agreeing_outlets(model: _Model, s: int, cfg: SummaryConfig) -> set[str]:
    """Outlets with a sentence close to ``s`` (cosine at least ``update_similarity``) that
    gives the same figures."""
    mine = model.figures[s]
    out: set[str] = set()
    for u in np.flatnonzero(model.sim[s] >= cfg.update_similarity):
        if model.figures[int(u)] == mine:
            doc = model.docs[model.sents[int(u)].doc]
            out.add(doc.article.outlet)
            out.update(c.outlet for c in doc.copies)
    return out


def _contradicting(model: _Model, ranking: Sequence[int], cfg: SummaryConfig) -> list[int]:
    """Sentences whose figures differ from a close sentence that more outlets agree with."""
    agreeing: dict[int, set[str]] = {}

    def agree(s: int) -> set[str]:
        if s not in agreeing:
            agreeing[s] = _agreeing_outlets(model, s, cfg)
        return agreeing[s]

    out = []
    for s in ranking[: max(40, len(ranking) // 3)]:
        figures = model.figures[s]
        if not figures or model.superseded[s] or model.sents[s].quote:
            continue
        mine = agree(s)
        for t in np.flatnonzero(model.sim[s] >= cfg.update_similarity):
            theirs_figures = model.figures[int(t)]
            if not theirs_figures or theirs_figures == figures or model.superseded[t]:
                continue
            theirs = agree(int(t))
            if len(theirs) > len(mine) and not theirs & mine:
                out.append(s)
                break
    return out


def _claimlike(text: str) -> bool:
    """A specific statement: it has a figure or a name beyond its first word."""
    tail = text.split()[1:]
    return any(any(ch.isdigit() for ch in w) or w[:1].isupper() for w in tail)


def _unique(
    model: _Model,
    cite: _Citations,
    ranking: Sequence[int],
    docs: Sequence[_Doc],
    cfg: SummaryConfig,
    shown: set[int] = frozenset(),
) -> list[OutletCoverage]:
    """Per outlet, the best sentences no other outlet carries and the page does not show yet."""
    outlets = []
    for d in docs:
        if d.article.outlet not in outlets:
            outlets.append(d.article.outlet)
    if len(outlets) < 2 or not model.sents:
        return []
    items: dict[str, list[int]] = {o: [] for o in outlets}
    said = sorted(shown)
    for s in ranking:
        if model.superseded[s] or model.sents[s].quote or s in shown:
            continue
        if said and model.sim[s, said].max() >= cfg.redundancy_threshold:
            continue
        outlet = docs[model.sents[s].doc].article.outlet
        bucket = items[outlet]
        if len(bucket) >= cfg.max_unique_per_outlet:
            continue
        if model.outlets_carrying(s) != {outlet}:
            continue
        if any(model.sim[s, t] >= cfg.claim_similarity for t in bucket):
            continue
        bucket.append(s)
    out = []
    for outlet in outlets:
        if not items[outlet]:
            continue
        out.append(
            OutletCoverage(
                outlet=outlet,
                items=[
                    CitedText(
                        text=model.sents[s].text,
                        citations=cite.numbers([model.sents[s].doc]),
                        outlets=[outlet],
                    )
                    for s in items[outlet]
                ],
            )
        )
    return out
