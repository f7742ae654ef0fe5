"""Damage benchmark for the normalize stage: real articles damaged seven ways, recovery per kind.

Usage:
    python benchmarks/damage_bench.py CORPUS.jsonl [CORPUS.jsonl ...]
        [--limit N] [--throughput PLAIN.jsonl] [--passes 5] [--show-failures 3]

Articles with curly quotes are taken from the corpora and damaged as scraped news is:

  untouched     the article as it is
  cp949_spam    CP949 bytes through a mixed UTF-8/cp1252 decoder (see
                tests/mojibake.py), Korean spam lines splitting words
  gbk_spam      the same with GBK and Chinese spam
  sjis_spam     the same with Shift-JIS and Japanese spam
  utf8_cp1252   UTF-8 bytes read as cp1252
  utf8_cp1252_lossy  the same where the bytes cp1252 leaves undefined were lost (U+FFFD:
                "â€\ufffd" for ”, the form it takes on real pages)
  html_page     the article inside a news page with navigation, a photo caption, share links,
                a related list and a comment form

A text kind counts as recovered when the normalized text equals the clean text EXACTLY after
folding whitespace runs and dash variants; characters the legacy codec cannot hold count as
lost (any one character may stand in their place), not as errors. An HTML page counts when the
word-level similarity is >= 0.98 and none of the page furniture or the caption is in the text.
"""

from __future__ import annotations

import argparse
import difflib
import html
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.common.errors import BadInput  # noqa: E402
from pipeline.normalization.normalize import normalize, parse_raw  # noqa: E402
from schemas.records import RawArticle  # noqa: E402
from tests.mojibake import shown_cp1252_lossy, shown_through  # noqa: E402

KINDS = (
    "untouched", "cp949_spam", "gbk_spam", "sjis_spam", "utf8_cp1252", "utf8_cp1252_lossy",
    "html_page",
)
CODECS = {"cp949_spam": "cp949", "gbk_spam": "gbk", "sjis_spam": "shift_jis"}
SPAM = {
    "cp949": ["릴게임몰메가", "바다이야기슬롯", "야마토연타", "바다신2게임", "온라인카지노추천",
              "바카라사이트", "황금성게임랜드", "릴게임손오공", "무료슬롯머신", "토토사이트순위"],
    "gbk": ["澳门新葡京娱乐场", "彩票平台注册", "百家乐官网", "真人视讯开户", "六合彩开奖结果",
            "体育投注网站", "老虎机游戏下载", "棋牌游戏大厅", "时时彩计划", "博彩网址大全"],
    "shift_jis": ["オンラインカジノ", "パチンコ必勝法", "スロット無料", "競馬予想サイト",
                  "ボーナス出金", "パチスロ新台", "ギャンブル攻略", "カジノ入金不要",
                  "ライブカジノ比較", "スポーツベット"],
}
WILDCARD = "\ue000"
DASHES = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63\uff0d-]+")
CURLY = re.compile("[“”‘’]")
# Articles whose text already carries damage are not "clean" references: C1 controls, U+FFFD.
PRE_DAMAGED = re.compile("[\x80-\x9f\ufffd]")
# Nor are articles whose scraped text still carries page furniture (bylines, photo credits,
# share/print/comment prompts, copyright lines, related lists): the normalizer rightly removes
# those lines, so the corpus text is not the article a reader sees. An independent, deliberately
# broad line filter (not the normalizer's own rules) sets these articles apart; --all keeps
# them and compares against the corpus text minus the lines removed from the untouched copy.
FURNITURE_LINE = re.compile(
    r"^(?:by [A-Z]|author|photo|image|copyright|©|share|print$|email$|advertis|comments?$|"
    r"follow |subscribe|related|see also|more from|read more|click here|watch:|×|buy photo|"
    r"posted |updated |published:)|\((?:[^()]*\b)?(?:photo|photos|image|file|ap|afp|reuters|"
    r"getty|courtesy)\b[^()]*\)\s*$|\bphoto\b.*\)$",
    re.IGNORECASE,
)


def inject_spam(
    text: str, spam: list[str], rng: random.Random, between_words: float = 0.0
) -> str:
    """Spam runs at line starts: most split a word of a paragraph across a line break (the run
    then a space then the rest of the word), some are prefixed to a paragraph. With
    ``between_words`` > 0, that share of the splits falls between two words instead (the
    space is lost: "the\n<run> workers")."""
    out: list[str] = []
    for para in text.split("\n"):
        words = para.split(" ")
        long_words = [k for k, w in enumerate(words) if len(w) >= 5 and w.isalpha() and k > 0]
        r = rng.random()
        if long_words and r < 0.6 and rng.random() < between_words:
            k = rng.choice(long_words)
            out.append(" ".join(words[:k]))
            out.append(f"{rng.choice(spam)} " + " ".join(words[k:]))
        elif long_words and r < 0.6:
            k = rng.choice(long_words)
            w = words[k]
            cut = rng.randint(1, len(w) - 1)
            out.append(" ".join(words[:k] + [w[:cut]]))
            out.append(f"{rng.choice(spam)} " + " ".join([w[cut:]] + words[k + 1 :]))
        elif r < 0.75 and para:
            out.append(rng.choice(spam) + para)
        else:
            out.append(para)
    return "\n".join(out)


def expected_for_codec(text: str, codec: str) -> str:
    """The clean text with characters the codec cannot hold marked as lost."""
    return "".join(ch if _encodable(ch, codec) else WILDCARD for ch in text)


def _encodable(ch: str, codec: str) -> bool:
    try:
        ch.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def fold(text: str) -> str:
    return " ".join(DASHES.sub("-", text).split())


def exact(got: str, expected: str) -> bool:
    """Equality after folding; a lost character may be any one character (or a dash)."""
    got_f, exp_f = fold(got), fold(expected)
    if WILDCARD not in exp_f:
        return got_f == exp_f
    pattern = ".?".join(re.escape(part) for part in exp_f.split(WILDCARD))
    return re.fullmatch(pattern, got_f.replace(" ? ", " - ")) is not None or re.fullmatch(
        pattern, got_f
    ) is not None


def similarity(a: str, b: str) -> float:
    wa, wb = fold(a).split(), fold(b).split()
    return difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()


NAV = ["Home", "World", "Politics", "Business", "Sport", "Opinion", "Weather", "Newsletters"]
RELATED = [
    "Council approves budget after long night of talks",
    "Storm damage closes coastal road for a week",
    "School district names new superintendent",
]


def html_page(rec: dict, rng: random.Random) -> tuple[str, list[str], str]:
    """The article inside a news page; returns (page, furniture strings, caption)."""
    title = rec.get("title") or "Local news"
    outlet = rec.get("outlet") or "The Daily Example"
    paras = [p for p in rec["text"].split("\n") if p.strip()]
    caption = "A view of the scene where the events described took place. (Photo: Staff)"
    share = ["Share on Facebook", "Share on Twitter", "Email this story"]
    body: list[str] = []
    for k, p in enumerate(paras):
        body.append(f"<p>{html.escape(p)}</p>")
        if k == min(1, len(paras) - 1):
            body.append(
                f'<figure class="photo"><img src="/img/{rng.randint(1, 999)}.jpg" alt="">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in NAV)
    related = "".join(f'<li><a href="/r/{i}">{html.escape(t)}</a></li>'
                      for i, t in enumerate(RELATED))
    shares = " ".join(f'<a class="share" href="#">{s}</a>' for s in share)
    published = rec.get("published") or "2016-01-01"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} | {html.escape(outlet)}</title>
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:site_name" content="{html.escape(outlet)}">
<meta property="article:published_time" content="{published}">
</head><body>
<header><div class="logo">{html.escape(outlet)}</div><nav><ul>{nav}</ul></nav>
<form class="search"><input name="q" placeholder="Search"></form></header>
<main><article>
<h1>{html.escape(title)}</h1>
<div class="share-bar">{shares}</div>
{"".join(body)}
<div class="share-bar bottom">{shares}</div>
</article>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>
<section id="comments"><h2>Leave a Reply</h2>
<form><label>Your comment</label><textarea name="c"></textarea>
<button type="submit">Post Comment</button></form></section>
</main>
<footer><p>Copyright 2016 {html.escape(outlet)}. All rights reserved.</p>
<ul><li><a href="/privacy">Privacy Policy</a></li><li><a href="/terms">Terms of Use</a></li></ul>
</footer></body></html>"""
    furniture = NAV[1:] + RELATED + share + ["Leave a Reply", "Post Comment", "Privacy Policy"]
    return page, furniture, caption


def has_furniture(text: str, title: str | None = None) -> bool:
    """True when a line is furniture, or the first line repeats the title."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if title and lines and _words(lines[0]) == _words(title):
        return True
    return any(FURNITURE_LINE.search(line) for line in lines)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def load(paths: list[str], limit: int | None, keep_furnished: bool = False) -> list[dict]:
    recs: list[dict] = []
    for path in paths:
        for line in Path(path).read_bytes().splitlines():
            if not line.strip():
                continue
            rec = orjson.loads(line)
            text = rec.get("text") or ""
            if not CURLY.search(text) or PRE_DAMAGED.search(text):
                continue
            if keep_furnished or not has_furniture(text, rec.get("title")):
                rec["_corpus"] = Path(path).stem
                recs.append(rec)
    return recs[:limit] if limit else recs


def raw_of(rec: dict, **changes) -> RawArticle:
    fields = {k: rec.get(k) for k in ("id", "url", "outlet", "title", "published")}
    fields["id"] = str(fields["id"]) if fields["id"] is not None else None
    fields.update(changes)
    return RawArticle(**fields)


def run_damage(
    recs: list[dict],
    show: int,
    all_mode: bool = False,
    utf8_share: float = 0.7,
    between_words: float = 0.0,
) -> dict[str, Counter]:
    """Damage every article every way and count recoveries per kind.

    With ``all_mode`` the damaged kinds are compared with what the normalizer makes of the
    untouched article (the corpus text minus its furniture), the untouched kind with the corpus.
    """
    stats: dict[str, Counter] = {k: Counter() for k in KINDS}
    shown: Counter = Counter()
    for rec in recs:
        clean = rec["text"]
        rng = random.Random(f"{rec.get('id')}")
        reference = clean
        if all_mode:
            try:
                reference = normalize(raw_of(rec, text=clean), received_at=1.5e9).text
            except BadInput:
                continue
        for kind in KINDS:
            expected = clean if kind == "untouched" else reference
            furniture: list[str] = []
            caption = None
            if kind == "untouched":
                raw = raw_of(rec, text=clean)
            elif kind in CODECS:
                codec = CODECS[kind]
                damaged = inject_spam(clean, SPAM[codec], rng, between_words)
                shown_text = shown_through(damaged.encode(codec, errors="replace"), utf8_share, rng)
                raw = raw_of(rec, text=shown_text)
                expected = expected_for_codec(reference, codec)
            elif kind == "utf8_cp1252":
                raw = raw_of(rec, text=shown_through(clean.encode("utf-8"), utf8_share=0.0))
            elif kind == "utf8_cp1252_lossy":
                raw = raw_of(rec, text=shown_cp1252_lossy(clean.encode("utf-8")))
            else:
                page, furniture, caption = html_page(rec, rng)
                raw = raw_of(rec, body=page, content_type="text/html")
            st = stats[kind]
            st["n"] += 1
            try:
                art = normalize(raw, received_at=1.5e9)
            except BadInput as exc:
                st["bad_input"] += 1
                got, ok = f"<BadInput {exc.reason}>", False
            else:
                got = art.text
                if kind == "html_page":
                    sim = similarity(got, reference)
                    st["sim_x1000"] += round(sim * 1000)
                    lines = {line.strip() for line in got.split("\n")}
                    clean_page = not (lines & set(furniture)) and caption not in got
                    st["furniture_free"] += clean_page
                    st["caption_kept"] += caption in art.captions
                    ok = sim >= 0.98 and clean_page
                else:
                    ok = exact(got, expected)
                    st["similar_98"] += similarity(got, expected.replace(WILDCARD, "?")) >= 0.98
            st["exact"] += ok
            if not ok and shown[kind] < show:
                shown[kind] += 1
                _show_failure(kind, rec, expected, got)
    return stats


def _show_failure(kind: str, rec: dict, expected: str, got: str) -> None:
    a, b = fold(expected).split(" "), fold(got).split(" ")
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    diffs = [
        f"    {op}: {' '.join(a[i1:i2])[:120]!r} -> {' '.join(b[j1:j2])[:120]!r}"
        for op, i1, i2, j1, j2 in sm.get_opcodes()
        if op != "equal"
    ]
    print(f"  [{kind}] {rec.get('_corpus')}:{rec.get('id')}", file=sys.stderr)
    for d in diffs[:4]:
        print(d, file=sys.stderr)


def throughput(path: str, passes: int) -> tuple[float, float, int]:
    """Articles/s of parse_raw + normalize + JSON output over a JSONL file, one core.

    One warm-up pass loads models and tables first (start-up is not counted)."""
    lines = [ln for ln in Path(path).read_bytes().splitlines() if ln.strip()]

    def one_pass() -> None:
        for line in lines:
            raw = parse_raw(line)
            art = normalize(raw, received_at=1.5e9)
            art.to_json()

    one_pass()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(passes):
        one_pass()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = len(lines) * passes
    return n / cpu, n / wall, len(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", nargs="+", help="JSONL corpora with id/url/outlet/title/text")
    ap.add_argument("--limit", type=int, default=None, help="use at most N articles")
    ap.add_argument("--throughput", help="plain-text JSONL to time normalize on")
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--show-failures", type=int, default=3, help="diffs shown per kind")
    ap.add_argument("--utf8-share", type=float, default=0.7,
                    help="how often the mixed decoder reads a valid UTF-8 sequence as UTF-8 "
                    "(0 = a pure cp1252 decoder)")
    ap.add_argument("--between-words", type=float, default=0.0,
                    help="share of spam splits that fall between two words, not inside one")
    ap.add_argument("--all", action="store_true",
                    help="keep articles whose scraped text carries page furniture")
    args = ap.parse_args(argv)

    recs = load(args.corpora, args.limit, keep_furnished=args.all)
    by_corpus = Counter(r["_corpus"] for r in recs)
    print(f"articles with curly quotes: {len(recs)} ({dict(by_corpus)})")
    t0 = time.process_time()
    stats = run_damage(
        recs,
        args.show_failures,
        all_mode=args.all,
        utf8_share=args.utf8_share,
        between_words=args.between_words,
    )
    cpu = time.process_time() - t0
    print()
    print("| kind | articles | exact recovery | similarity >= 0.98 | notes |")
    print("|---|---|---|---|---|")
    for kind in KINDS:
        st = stats[kind]
        n = st["n"] or 1
        if kind == "html_page":
            note = (f"mean similarity {st['sim_x1000'] / n / 1000:.3f}; furniture-free "
                    f"{st['furniture_free']}/{st['n']}; caption in captions "
                    f"{st['caption_kept']}/{st['n']}")
            print(f"| {kind} | {st['n']} | {st['exact'] / n:.1%} (similarity+clean) | "
                  f"{st['sim_x1000'] / n / 1000:.3f} mean | {note} |")
        else:
            note = f"bad input {st['bad_input']}" if st["bad_input"] else ""
            print(f"| {kind} | {st['n']} | {st['exact'] / n:.1%} | {st['similar_98'] / n:.1%} |"
                  f" {note} |")
    print(f"\n(benchmark CPU {cpu:.1f} s for {sum(s['n'] for s in stats.values())} normalizations)")
    if args.throughput:
        cps, wps, n = throughput(args.throughput, args.passes)
        name = Path(args.throughput).name
        print(f"\nthroughput on {name} ({n} articles x {args.passes} passes): "
              f"{cps:,.0f} articles/s CPU (one core), {wps:,.0f} articles/s wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
