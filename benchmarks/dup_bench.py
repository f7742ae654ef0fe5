"""Duplicate benchmark: real articles plus generated resends, revisions, copies and light edits.

Usage::

    python benchmarks/dup_bench.py CORPUS.jsonl [CORPUS2.jsonl ...] [--seed 7]
        [--index-size 500000] [--partitions 4] [--json OUT.json]

The corpus articles are streamed in date order; for a third of them 1-3 later variants are
generated (each a different kind): resend (same url and text), revision (same url, one
paragraph added, ~3% of words edited), syndicated (other outlet and url, same text, new
headline), light edit (other outlet and url, ~8% of words edited, last paragraph dropped).
Printed: precision/recall over duplicate pairs, recall per variant kind, the confusion of
kinds, same-event originals wrongly flagged, signature speed, index query+insert speed with
``--index-size`` articles indexed, and state bytes per indexed article.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import re
import resource
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.common.text import stable_hash  # noqa: E402
from pipeline.dedup.bands import BandOwner, DedupHome  # noqa: E402
from pipeline.dedup.index import BandIndex, DedupConfig, Deduplicator, sign_articles  # noqa: E402
from pipeline.dedup.minhash import (  # noqa: E402
    band_keys,
    shingle_hashes_reference,
    signatures,
    to_lean,
)
from schemas.records import Article  # noqa: E402

KINDS = ("resend", "revision", "syndicated", "light_edit")
_WORD = re.compile(r"\S+")


@dataclass
class Item:
    """One message of the benchmark stream with its gold label."""

    article: Article
    gold_kind: str  # "original" or a variant kind
    gold_of: str | None  # the original's id for variants
    event: str | None


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    try:
        d = dt.datetime.fromisoformat(value[:19])
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.timestamp()


def load(paths: list[str]) -> list[dict]:
    """Corpus rows with text, in date order (rows without a date keep their file position)."""
    rows: list[dict] = []
    for path in paths:
        name = Path(path).stem
        last = _epoch("2000-01-01")
        with open(path, "rb") as fh:
            for n, line in enumerate(fh):
                r = orjson.loads(line)
                if not (r.get("text") or "").strip():
                    continue
                t = _epoch(r.get("published")) or _epoch(r.get("published_heuristic"))
                last = t if t is not None else last
                r["_t"] = (t if t is not None else last) + n  # keep file order within a day
                r["_id"] = f"{name}:{r['id']}"
                r["_event"] = f"{name}:{r.get('event')}"
                rows.append(r)
    rows.sort(key=lambda r: r["_t"])
    seen_urls: Counter[str] = Counter()
    for r in rows:  # a corpus url reused by two different articles is made unique
        url = r.get("url") or f"https://{_slug(r.get('outlet') or 'corpus')}.example/{r['_id']}"
        seen_urls[url] += 1
        r["_url"] = url if seen_urls[url] == 1 else f"{url}#{seen_urls[url]}"
    return rows


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "x"


def edit_words(text: str, fraction: float, rng: random.Random, vocab: list[str]) -> str:
    """Edit ``fraction`` of the words (at least one): substitute, delete or insert."""
    paras = [p.split() for p in text.split("\n")]
    where = [(i, j) for i, p in enumerate(paras) for j in range(len(p))]
    if not where:
        return text
    chosen = set(rng.sample(where, max(1, round(fraction * len(where)))))
    out = []
    for i, words in enumerate(paras):
        new: list[str] = []
        for j, w in enumerate(words):
            if (i, j) in chosen:
                op = rng.random()
                if op < 0.6:
                    new.append(rng.choice(vocab))
                elif op < 0.8:
                    continue
                else:
                    new.extend([w, rng.choice(vocab)])
            else:
                new.append(w)
        out.append(" ".join(new))
    return "\n".join(out)


def build(rows: list[dict], seed: int) -> list[Item]:
    """The benchmark stream: originals and their later variants, ordered by event time."""
    rng = random.Random(seed)
    vocab = [w for r in rows for w in r["text"].split()[:200]]
    paragraphs = [p for r in rows for p in r["text"].split("\n") if len(p.split()) >= 15]
    timed: list[tuple[float, int, Item]] = []
    for n, r in enumerate(rows):
        outlet = r.get("outlet") or "corpus"
        orig = Article(
            id=r["_id"], url=r["_url"], outlet=outlet, title=r.get("title") or "", text=r["text"],
            lang="en", published=r["_t"],
        )
        timed.append((r["_t"], len(timed), Item(orig, "original", None, r["_event"])))
        if rng.random() >= 1 / 3:
            continue
        for k, kind in enumerate(rng.sample(KINDS, rng.randint(1, 3))):
            t = r["_t"] + rng.uniform(60, 3 * 86400)
            text, url, vid = r["text"], r["_url"], f"{r['_id']}~{k}"
            v_outlet, title = outlet, orig.title
            if kind == "resend":
                vid = r["_id"] if rng.random() < 0.5 else vid
            elif kind == "revision":
                vid = r["_id"] if rng.random() < 0.5 else vid
                paras = edit_words(text, 0.03, rng, vocab).split("\n")
                paras.insert(rng.randint(1, len(paras)), rng.choice(paragraphs))
                text = "\n".join(paras)
            elif kind == "syndicated":
                v_outlet = f"wire{n % 7}"
                url = f"https://{v_outlet}.example/{n}/{k}"
                title = f"{v_outlet.upper()}: {orig.title or 'report'}"
            else:
                v_outlet = f"regional{n % 5}"
                url = f"https://{v_outlet}.example/{n}/{k}"
                paras = edit_words(text, 0.08, rng, vocab).split("\n")
                text = "\n".join(paras[:-1]) if len(paras) > 1 else paras[0]
            art = Article(
                id=vid, url=url, outlet=v_outlet, title=title, text=text, lang="en", published=t
            )
            timed.append((t, len(timed), Item(art, kind, r["_id"], r["_event"])))
    timed.sort(key=lambda x: (x[0], x[1]))
    return [it for _, _, it in timed]


def run_stream(items: list[Item], cfg: DedupConfig, batch: int = 64) -> list:
    """Verdicts for the stream, in batches, expiring by event time between batches."""
    d = Deduplicator(cfg)
    verdicts = []
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        verdicts += d.check_many([(it.article, f"bench/0/{i + j}") for j, it in enumerate(chunk)])
        d.expire(max(it.article.published for it in chunk))
    return verdicts, d


def run_partitioned(items: list[Item], cfg: DedupConfig, partitions: int, batch: int = 64) -> list:
    """Verdicts from the band-partitioned protocol (homes and band owners, no Kafka).

    Articles go to the home of their url in batches, as the agents take them; after each batch
    every home sends its watermark, and answers and decisions flow until every article of the
    batch is decided.
    """
    homes = [DedupHome(h, partitions, cfg) for h in range(partitions)]
    owners = [BandOwner(o, partitions, cfg) for o in range(partitions)]
    verdicts: dict[str, object] = {}
    for lo in range(0, len(items), batch):
        chunk = items[lo : lo + batch]
        values, sizes, keys = sign_articles([it.article for it in chunk], cfg)
        for j, it in enumerate(chunk):
            a = it.article
            h = int(stable_hash(a.url or a.id), 16) % partitions
            delivery = f"bench/0/{lo + j}"
            step = homes[h].receive(
                a, delivery, values[j], int(sizes[j]), keys[j], float(lo + j)
            )
            if step.verdict is not None:
                verdicts[delivery] = step.verdict
            for o, probe in step.probes:
                owners[o].receive(probe)
        for home in homes:
            home.sent_all()
            mark = home.watermark(float(lo + len(chunk)))
            for owner in owners:
                owner.receive(mark)
        while True:
            answers = [a for owner in owners for a in owner.advance(0.0)]
            if not answers:
                break
            for answer in answers:
                decided = homes[answer.home].answer(answer)
                if decided is not None:
                    verdicts[decided.delivery] = decided.verdict
                    for o, decision in decided.decisions:
                        owners[o].receive(decision)
        now = max(it.article.published for it in chunk)
        for node in (*homes, *owners):
            node.expire(now)
    sizes = {}
    for role, nodes in (("home", homes), ("owner", owners)):
        records = [kv for node in nodes for kv in node.drain_changes() if kv[1] is not None]
        sizes[role] = sum(len(k) + len(v) for k, v in records)
    indexed = max(sum(len(o) for o in owners) / partitions, 1)
    run_partitioned.state_bytes = {  # type: ignore[attr-defined]
        "home_per_article": sizes["home"] / indexed,
        "owner_per_article_per_partition": sizes["owner"] / partitions / indexed,
    }
    return [verdicts[f"bench/0/{i}"] for i in range(len(items))]


def corpus_copies(items: list[Item], shingle: int, min_containment: float) -> dict[str, str]:
    """Groups of corpus articles that are themselves copies of each other (real wire copies,
    updated versions at new urls): exact word-shingle containment of the smaller text in the
    larger >= ``min_containment``, computed on full shingle sets (not MinHash). Returns a
    group representative per article id (union-find)."""
    originals = [it.article for it in items if it.gold_kind == "original"]
    sets = {a.id: set(shingle_hashes_reference(a.text, shingle)) for a in originals}
    postings: dict[int, list[str]] = defaultdict(list)
    for aid, sh in sets.items():
        for h in sh:
            postings[h].append(aid)
    shared: Counter[tuple[str, str]] = Counter()
    for ids in postings.values():
        if 1 < len(ids) <= 200:
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    shared[(a, b)] += 1
    parent = {aid: aid for aid in sets}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (a, b), n in shared.items():
        if n / max(1, min(len(sets[a]), len(sets[b]))) >= min_containment:
            parent[find(a)] = find(b)
    return {aid: find(aid) for aid in sets}


def score(items: list[Item], verdicts: list, group: dict[str, str] | None = None) -> dict:
    """Pair precision/recall, recall per kind, kind confusion, same-event false merges.

    With ``group`` (corpus copy groups), a pair pointing at another member of the expected
    original's group counts as correct, and an original flagged as a copy of an article of its
    own group is a found corpus copy, not a false positive. Without it every corpus article is
    taken as a distinct original (strict scoring).
    """
    group = group or {}

    def same(a: str | None, b: str | None) -> bool:
        return a is not None and b is not None and (a == b or group.get(a, a) == group.get(b, b))

    gold = sum(1 for it in items if it.gold_kind != "original")
    predicted = correct = corpus_found = 0
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusion: Counter[tuple[str, str]] = Counter()
    same_event_fp = other_fp = 0
    event_of = {it.article.id: it.event for it in items if it.gold_kind == "original"}
    fp_examples = []
    for it, v in zip(items, verdicts, strict=True):
        confusion[(it.gold_kind, v.kind)] += 1
        if it.gold_kind != "original":
            per_kind[it.gold_kind][1] += 1
        if v.kind == "original":
            continue
        if it.gold_kind != "original":
            predicted += 1
            if same(v.duplicate_of, it.gold_of):
                correct += 1
                per_kind[it.gold_kind][0] += 1
            else:
                other_fp += 1
                fp_examples.append((it.article.id, v.kind, v.duplicate_of, v.similarity))
        elif same(v.duplicate_of, it.article.id):
            corpus_found += 1
        else:
            predicted += 1
            if event_of.get(v.duplicate_of) == it.event:
                same_event_fp += 1
            else:
                other_fp += 1
            fp_examples.append((it.article.id, v.kind, v.duplicate_of, v.similarity))
    return {
        "gold_pairs": gold,
        "predicted_pairs": predicted,
        "correct_pairs": correct,
        "precision": correct / predicted if predicted else 1.0,
        "recall": correct / gold if gold else 1.0,
        "recall_by_kind": {
            k: (c / n if n else 1.0, c, n) for k, (c, n) in sorted(per_kind.items())
        },
        "confusion": {f"{g}->{p}": n for (g, p), n in sorted(confusion.items())},
        "same_event_false_merges": same_event_fp,
        "other_false_merges": other_fp,
        "corpus_copies_flagged": corpus_found,
        "false_positive_examples": fp_examples[:10],
    }


def signature_speed(texts: list[str], cfg: DedupConfig, batch: int = 128) -> dict:
    signatures(texts[:8], cfg.num_perm, cfg.seed, cfg.shingle)  # warm caches
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(0, len(texts), batch):
        signatures(texts[i : i + batch], cfg.num_perm, cfg.seed, cfg.shingle)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    from datasketch import MinHash

    sample = texts[:200]
    ds_cpu = time.process_time()
    for t in sample:
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=lambda x: x)
        m.update_batch(shingle_hashes_reference(t, cfg.shingle))
    ds_cpu = time.process_time() - ds_cpu
    words = sum(len(t.split()) for t in texts) / len(texts)
    return {
        "articles": len(texts),
        "mean_words": round(words, 1),
        "cpu_per_s": len(texts) / cpu,
        "wall_per_s": len(texts) / wall,
        "datasketch_update_batch_per_s": len(sample) / ds_cpu,
    }


def synthetic_texts(rows: list[dict], n: int, seed: int) -> list[str]:
    """Texts of random corpus sentences with a fifth of their words replaced: realistic word
    statistics and some shared phrasing between texts, but no copies."""
    rng = random.Random(seed)
    sentences = [s.split() for r in rows for s in re.split(r"(?<=[.!?])\s+", r["text"])
                 if len(s) > 30]
    vocab = [w for s in sentences for w in s]
    out = []
    for _ in range(n):
        words = [w for s in rng.choices(sentences, k=rng.randint(8, 20)) for w in s]
        for _ in range(len(words) // 5):
            words[rng.randrange(len(words))] = rng.choice(vocab)
        out.append(" ".join(words))
    return out


def datasketch_lsh_speed(rows: list[dict], cfg: DedupConfig, size: int, probes: int,
                         seed: int) -> dict:
    """The same query+insert loop on datasketch's MinHashLSH (same bands and rows)."""
    from datasketch import MinHashLSH

    texts = synthetic_texts(rows, size + probes, seed)
    lean = []
    for i in range(0, len(texts), 256):
        s = signatures(texts[i : i + 256], cfg.num_perm, cfg.seed, cfg.shingle)
        lean += [to_lean(v, cfg.seed) for v in s.values]
    del texts
    gc.collect()
    rss_before = _rss()
    lsh = MinHashLSH(num_perm=cfg.num_perm, params=(cfg.bands, cfg.rows))
    for i in range(size):
        lsh.insert(i, lean[i], check_duplication=False)
    gc.collect()
    rss_filled = _rss()
    cpu = time.process_time()
    for i in range(size, size + probes):
        for key in lsh.query(lean[i]):
            lean[key].jaccard(lean[i])
        lsh.insert(i, lean[i], check_duplication=False)
    cpu = time.process_time() - cpu
    return {
        "indexed": size,
        "query_insert_cpu_per_s": probes / cpu,
        "memory_bytes_per_article": (rss_filled - rss_before) / size,
    }


def _rss() -> int:
    """Resident set size of this process in bytes (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def index_speed(
    rows: list[dict], cfg: DedupConfig, size: int, probes: int, seed: int, batch: int = 64
) -> dict:
    """Query+insert rates of the band index and of the whole stage with ``size`` indexed."""
    texts = synthetic_texts(rows, size + probes, seed)
    t0 = time.process_time()
    sig_vals = np.empty((len(texts), cfg.num_perm), dtype=np.uint32)
    sizes = np.empty(len(texts), dtype=np.int64)
    for i in range(0, len(texts), 256):
        s = signatures(texts[i : i + 256], cfg.num_perm, cfg.seed, cfg.shingle)
        sig_vals[i : i + 256], sizes[i : i + 256] = s.values, s.sizes
    sig_time = time.process_time() - t0
    keys = band_keys(sig_vals, cfg.bands, cfg.rows)

    # 1) The bare band index: query + verify + insert, in batches as the stage runs it.
    index = BandIndex(cfg.bands)
    for i in range(0, size, batch):
        j = min(i + batch, size)
        index.insert_many(np.arange(i, j), keys[i:j])
    cands_total = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(size, size + probes, batch):
        j = min(i + batch, size + probes)
        for r, found in enumerate(index.query_many(keys[i:j])):
            if found:
                cand = np.fromiter(found, dtype=np.int64, count=len(found))
                (sig_vals[cand] == sig_vals[i + r]).mean(axis=1)
                cands_total += len(found)
        index.insert_many(np.arange(i, j), keys[i:j])
    index_cpu, index_wall = time.process_time() - cpu, time.perf_counter() - wall
    del index
    gc.collect()

    # 2) The whole Deduplicator (lookups, LSH, verification, state records) with `size`
    # articles indexed; signatures are given (timed separately above).
    t_base = 1.7e9
    articles = [
        Article(id=f"s{i:07d}", url=f"https://s.example/{i}", outlet="s", title="", text="",
                lang="en", published=t_base + i * 0.01, content_hash=f"{i:016x}")
        for i in range(len(texts))
    ]
    del texts
    gc.collect()
    rss_before = _rss()
    d = Deduplicator(cfg)

    def run(lo: int, hi: int) -> None:
        for i in range(lo, hi, batch):
            j = min(i + batch, hi)
            chunk = [(a, None) for a in articles[i:j]]
            d._check_signed(chunk, sig_vals[i:j], sizes[i:j], keys[i:j])
            d.drain_changes()

    fill_cpu = time.process_time()
    run(0, size)
    fill_cpu = time.process_time() - fill_cpu
    gc.collect()
    rss_filled = _rss()
    cpu, wall = time.process_time(), time.perf_counter()
    run(size, size + probes)
    stage_cpu, stage_wall = time.process_time() - cpu, time.perf_counter() - wall
    state = d.state_bytes()
    return {
        "indexed": size,
        "probes": probes,
        "synthetic_signature_cpu_per_s": (size + probes) / sig_time,
        "index_query_insert_cpu_per_s": probes / index_cpu,
        "index_query_insert_wall_per_s": probes / index_wall,
        "mean_candidates_per_query": cands_total / probes,
        "stage_decide_cpu_per_s": probes / stage_cpu,
        "stage_decide_wall_per_s": probes / stage_wall,
        "stage_fill_cpu_per_s": size / fill_cpu,
        "state_bytes_per_article": state["per_article"],
        "index_bytes_per_article": state["index_bytes_per_article"],
        "memory_bytes_per_article": (rss_filled - rss_before) / size,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", nargs="+")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--index-size", type=int, default=500_000)
    ap.add_argument("--probes", type=int, default=20_000)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a DedupConfig field, e.g. --set threshold=0.5")
    ap.add_argument("--copy-containment", type=float, default=0.5,
                    help="exact shingle containment at which two corpus articles are copies")
    ap.add_argument("--datasketch-size", type=int, default=0,
                    help="also time datasketch MinHashLSH with this many indexed (memory-heavy)")
    ap.add_argument("--partitions", type=int, default=0,
                    help="also run the band-partitioned protocol over this many partitions "
                    "and compare its verdicts with the single worker's")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    cfg = DedupConfig()
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = type(getattr(cfg, key))(value)
    if overrides:
        cfg = DedupConfig(**{**cfg.__dict__, **overrides})
    rows = load(args.corpora)
    items = build(rows, args.seed)
    cpu = time.process_time()
    verdicts, d = run_stream(items, cfg)
    stream_cpu = time.process_time() - cpu
    group = corpus_copies(items, cfg.shingle, args.copy_containment)
    result = score(items, verdicts, group)
    result["strict"] = score(items, verdicts)
    stricter = max(0.7, args.copy_containment)
    result["stricter_copies"] = {
        "copy_containment": stricter,
        **score(items, verdicts, corpus_copies(items, cfg.shingle, stricter)),
    }
    result["corpus_copy_groups"] = sum(
        1 for g, n in Counter(group.values()).items() if n > 1
    )
    result["stream"] = {
        "messages": len(items),
        "originals": sum(1 for it in items if it.gold_kind == "original"),
        "cpu_per_s": len(items) / stream_cpu,
        "state_bytes_per_article": d.state_bytes()["per_article"],
    }
    if args.partitions:
        cpu = time.process_time()
        split = run_partitioned(items, cfg, args.partitions)
        part_cpu = time.process_time() - cpu
        same = sum(
            (a.kind, a.duplicate_of) == (b.kind, b.duplicate_of)
            for a, b in zip(split, verdicts, strict=True)
        )
        result["partitioned"] = {
            "partitions": args.partitions,
            "same_verdicts": same,
            "messages": len(items),
            "cpu_per_s": len(items) / part_cpu,
            **run_partitioned.state_bytes,  # type: ignore[attr-defined]
            **{k: v for k, v in score(items, split, group).items() if k in ("precision", "recall")},
        }
    result["config"] = cfg.__dict__
    result["signature_speed"] = signature_speed([it.article.text for it in items], cfg)
    if args.index_size:
        result["index_speed"] = index_speed(rows, cfg, args.index_size, args.probes, args.seed)
    if args.datasketch_size:
        result["datasketch_lsh"] = datasketch_lsh_speed(
            rows, cfg, args.datasketch_size, min(args.probes, 10_000), args.seed
        )
    _print(result)
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


def _print(r: dict) -> None:
    s = r["stream"]
    print(f"stream: {s['messages']} messages ({s['originals']} originals), "
          f"{s['cpu_per_s']:.0f} msg/s CPU end to end")
    print(f"pairs: gold {r['gold_pairs']}, predicted {r['predicted_pairs']}, "
          f"correct {r['correct_pairs']}")
    print(f"precision {r['precision']:.4f}  recall {r['recall']:.4f}  (corpus articles that are "
          f"real copies of each other, {r['corpus_copy_groups']} groups, are not errors; "
          f"{r['corpus_copies_flagged']} such originals flagged)")
    sc = r["stricter_copies"]
    print(f"only corpus pairs with >= {sc['copy_containment']} containment taken as copies: "
          f"precision {sc['precision']:.4f} recall {sc['recall']:.4f}")
    st = r["strict"]
    print(f"strict (every corpus article a distinct original): precision {st['precision']:.4f} "
          f"recall {st['recall']:.4f}")
    print("| variant kind | recall | found / gold |")
    print("|---|---|---|")
    for k, (rec, c, n) in r["recall_by_kind"].items():
        print(f"| {k} | {rec:.4f} | {c} / {n} |")
    print("confusion (gold->predicted):", r["confusion"])
    print(f"same-event originals flagged as copies: {r['same_event_false_merges']}, "
          f"other false merges: {r['other_false_merges']}")
    for ex in r["false_positive_examples"]:
        print("  false positive:", ex)
    pt = r.get("partitioned")
    if pt:
        print(f"band-partitioned over {pt['partitions']} partitions: {pt['same_verdicts']} of "
              f"{pt['messages']} verdicts equal to the single worker's; precision "
              f"{pt['precision']:.4f} recall {pt['recall']:.4f}; {pt['cpu_per_s']:.0f} msg/s CPU "
              f"with every home and owner in one process; state records per indexed article: "
              f"homes {pt['home_per_article']:.0f} B, each band partition "
              f"{pt['owner_per_article_per_partition']:.0f} B")
    sp = r["signature_speed"]
    print(f"signatures: {sp['cpu_per_s']:.0f} articles/s CPU ({sp['wall_per_s']:.0f} wall), "
          f"mean {sp['mean_words']} words; datasketch update_batch "
          f"{sp['datasketch_update_batch_per_s']:.0f}/s")
    print(f"state bytes per indexed article (benchmark stream): {s['state_bytes_per_article']:.0f}")
    ix = r.get("index_speed")
    if ix:
        print(f"with {ix['indexed']} indexed ({ix['probes']} probes): "
              f"band index query+verify+insert "
              f"{ix['index_query_insert_cpu_per_s']:.0f}/s CPU "
              f"({ix['index_query_insert_wall_per_s']:.0f} wall), "
              f"{ix['mean_candidates_per_query']:.2f} candidates/query; whole stage decide "
              f"{ix['stage_decide_cpu_per_s']:.0f}/s CPU "
              f"({ix['stage_decide_wall_per_s']:.0f} wall)")
        print(f"  stage fill (0 -> {ix['indexed']}) {ix['stage_fill_cpu_per_s']:.0f}/s CPU; "
              f"synthetic signatures {ix['synthetic_signature_cpu_per_s']:.0f}/s CPU")
        print(f"  state bytes/article {ix['state_bytes_per_article']:.0f}, index bytes/article "
              f"{ix['index_bytes_per_article']:.0f}, process memory (RSS growth) per indexed "
              f"article {ix['memory_bytes_per_article']:.0f}")
    ds = r.get("datasketch_lsh")
    if ds:
        print(f"datasketch MinHashLSH, same bands, {ds['indexed']} indexed: query+verify+insert "
              f"{ds['query_insert_cpu_per_s']:.0f}/s CPU, process memory per indexed article "
              f"{ds['memory_bytes_per_article']:.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
