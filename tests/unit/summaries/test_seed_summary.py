"""The seed story (three outlets on one summit) reads like the seed page: corroborated facts
cite every outlet that reports them, headings differ, and a dated timeline is cited."""

from __future__ import annotations

import re
from importlib import resources

import orjson

from pipeline.normalization.normalize import normalize
from pipeline.summaries.summarize import summarize_story
from schemas import DedupVerdict, RawArticle

SEEDS = ("seed-002", "seed-003", "seed-004")


def seed_members():
    data = (resources.files("agents") / "data" / "sample.jsonl").read_bytes()
    rows = {r["id"]: r for r in map(orjson.loads, data.splitlines()) if r.get("id") in SEEDS}
    out = []
    for n, seed in enumerate(SEEDS):
        article = normalize(RawArticle.from_dict(rows[seed]), received_at=float(n))
        out.append((article, DedupVerdict(article_id=article.id, kind="original")))
    return sorted(out, key=lambda m: m[0].published)


def test_the_seed_story_corroborates_and_has_a_cited_timeline():
    update = summarize_story("s-seed", seed_members(), version=1, previous=None, now=1.0)
    cited = [
        m.group(2)
        for sec in update.sections
        for m in re.finditer(r"([^\[\]]+?)((?:\[\d+\])+)", sec.text)
    ]
    assert sum(markers.count("[") >= 2 for markers in cited) >= 3
    headings = [sec.heading.lower() for sec in update.sections]
    assert len(set(headings)) == len(headings)
    for sec in update.sections:  # a clause taken from the section itself, not key phrases
        assert sec.heading.lower() in sec.text.lower(), sec.heading
        assert " and " not in sec.heading or len(sec.heading.split()) > 6
    listed = {src.n for src in update.sources}
    assert update.timeline
    for entry in update.timeline:
        assert entry.citations and set(entry.citations) <= listed
        assert entry.time >= min(a.published for a, _ in seed_members())
    times = [e.time for e in update.timeline]
    assert times == sorted(times)
