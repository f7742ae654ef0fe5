"""Dedup stage: verdict kinds, redelivery idempotence, state round trip and expiry."""

from __future__ import annotations

import random

import pytest

from pipeline.dedup.index import DedupConfig, Deduplicator
from schemas.records import Article

DAY = 86400.0
T0 = 1_700_000_000.0

_VOCAB_TEXT = (
    "harbor council budget river bridge mayor vote school teachers strike union contract "
    "storm coast flood rescue airport runway delay minister police court judge ruling trial "
    "market shares bank rates inflation farmers harvest drought water supply hospital nurses "
    "doctors patients museum painting auction stadium season coach league players injury "
    "election ballot district campaign senator hearing committee report energy grid outage "
    "wind solar factory workers wages railway station tunnel tickets fares village festival"
)
_VOCAB = _VOCAB_TEXT.split()


def make_text(seed: int, paragraphs: int = 6, words: int = 45) -> str:
    """A made-up article: paragraphs of pseudo-random words from a small news vocabulary."""
    rng = random.Random(seed)
    paras = []
    for _ in range(paragraphs):
        paras.append(" ".join(rng.choice(_VOCAB) for _ in range(words)).capitalize() + ".")
    return "\n".join(paras)


def edit_words(text: str, fraction: float, seed: int) -> str:
    """Replace a fraction of the words with other words."""
    rng = random.Random(seed)
    paras = []
    for para in text.split("\n"):
        ws = para.split(" ")
        for i in range(len(ws)):
            if rng.random() < fraction:
                ws[i] = rng.choice(["quietly", "reportedly", "northern", "local", "several"])
        paras.append(" ".join(ws))
    return "\n".join(paras)


def art(
    aid: str, text: str, url: str | None = None, outlet: str = "Daily Gazette", t: float = T0,
    title: str = "A headline",
) -> Article:
    return Article(
        id=aid, url=url, outlet=outlet, title=title, text=text, lang="en", published=t,
        word_count=len(text.split()),
    )


@pytest.fixture
def dedup() -> Deduplicator:
    return Deduplicator()


def test_first_article_is_original(dedup: Deduplicator) -> None:
    v = dedup.check(art("a1", make_text(1), "https://gazette.example/a1"))
    assert v.kind == "original"
    assert v.duplicate_of is None
    assert len(dedup) == 1


def test_resend_same_url_same_text(dedup: Deduplicator) -> None:
    text = make_text(2)
    dedup.check(art("a1", text, "https://gazette.example/a1"))
    v = dedup.check(art("a1-again", text, "https://gazette.example/a1"))
    assert (v.kind, v.duplicate_of, v.similarity) == ("resend", "a1", 1.0)
    assert not v.counts
    assert len(dedup) == 1


def test_resend_same_id_without_url(dedup: Deduplicator) -> None:
    text = make_text(3)
    dedup.check(art("a1", text))
    v = dedup.check(art("a1", text))
    assert (v.kind, v.duplicate_of) == ("resend", "a1")


def test_revision_replaces_text(dedup: Deduplicator) -> None:
    text = make_text(4)
    dedup.check(art("a1", text, "https://gazette.example/a1"))
    revised = edit_words(text, 0.03, seed=9) + "\nA paragraph added after publication with news."
    v = dedup.check(art("a1-v2", revised, "https://gazette.example/a1", t=T0 + 3600))
    assert (v.kind, v.duplicate_of, v.replaces) == ("revision", "a1", "a1")
    assert 0.5 < v.similarity < 1.0
    assert len(dedup) == 1
    # The revised text is now the indexed version: sending it again is a resend ...
    again = dedup.check(art("a1-v2", revised, "https://gazette.example/a1"))
    assert again.kind == "resend"
    # ... and a copy elsewhere of the revised text is a syndicated copy of a1.
    copy = dedup.check(art("b1", revised, "https://herald.example/b1", outlet="Herald"))
    assert (copy.kind, copy.duplicate_of) == ("syndicated", "a1")


def test_stale_resend_after_revision_changes_nothing(dedup: Deduplicator) -> None:
    text = make_text(5)
    dedup.check(art("a1", text, "https://gazette.example/a1"))
    dedup.check(art("a1", text + "\nAn update.", "https://gazette.example/a1"))
    v = dedup.check(art("a1", text, "https://gazette.example/a1"))
    assert v.kind == "resend"


def test_syndicated_copy_points_at_original(dedup: Deduplicator) -> None:
    text = make_text(6)
    dedup.check(art("a1", text, "https://gazette.example/a1"))
    v = dedup.check(
        art("w1", text, "https://wire.example/w1", outlet="Wire", title="Another headline")
    )
    assert (v.kind, v.duplicate_of) == ("syndicated", "a1")
    assert v.similarity >= 0.9
    assert v.counts
    assert len(dedup) == 2


def test_light_edit_points_at_root_through_chain(dedup: Deduplicator) -> None:
    text = make_text(7)
    dedup.check(art("a1", text, "https://gazette.example/a1"))
    dedup.check(art("w1", text, "https://wire.example/w1", outlet="Wire"))
    edited = "\n".join(edit_words(text, 0.08, seed=3).split("\n")[:-1])
    v = dedup.check(art("r1", edited, "https://regional.example/r1", outlet="Regional"))
    assert v.kind == "light_edit"
    assert v.duplicate_of == "a1"  # the root, not the syndicated copy w1
    assert 0.3 <= v.similarity < 0.9


def test_same_event_different_articles_stay_original(dedup: Deduplicator) -> None:
    one = (
        "The harbor bridge closed on Tuesday after inspectors found cracks in two support "
        "beams, the city transport office said.\nCommuters were sent to the river ferry, "
        "which added extra crossings in the morning.\nThe mayor promised repairs would begin "
        "within a week and said no one had been hurt."
    )
    two = (
        "Inspectors shut the harbor bridge Tuesday, citing cracked support beams found during "
        "a routine check.\nFerry operators said queues stretched along the quay as drivers "
        "looked for another way across.\nCity officials gave no date for reopening; the mayor "
        "is expected to speak on Wednesday."
    )
    assert dedup.check(art("g1", one, "https://gazette.example/bridge")).kind == "original"
    v = dedup.check(art("h1", two, "https://herald.example/bridge", outlet="Herald"))
    assert v.kind == "original"
    assert v.duplicate_of is None


def test_unrelated_articles_are_original(dedup: Deduplicator) -> None:
    kinds = [dedup.check(art(f"x{i}", make_text(100 + i), f"https://e.example/{i}")).kind
             for i in range(20)]
    assert kinds == ["original"] * 20
    assert len(dedup) == 20


def test_redelivery_returns_first_verdict_without_state_change(dedup: Deduplicator) -> None:
    text = make_text(8)
    first = dedup.check(art("a1", text, "https://gazette.example/a1"), delivery="t/0/17")
    dedup.drain_changes()
    again = dedup.check(art("a1", text, "https://gazette.example/a1"), delivery="t/0/17")
    assert again == first
    assert again.kind == "original"
    assert dedup.drain_changes() == []
    # A new delivery of the same content is a resend.
    other = dedup.check(art("a1", text, "https://gazette.example/a1"), delivery="t/0/18")
    assert other.kind == "resend"


def test_redelivery_of_a_copy_is_stable(dedup: Deduplicator) -> None:
    text = make_text(10)
    dedup.check(art("a1", text, "https://gazette.example/a1"), delivery="t/0/1")
    v1 = dedup.check(art("w1", text, "https://wire.example/w1"), delivery="t/1/1")
    v2 = dedup.check(art("w1", text, "https://wire.example/w1"), delivery="t/1/1")
    assert v1 == v2
    assert v1.kind == "syndicated"
    assert len(dedup) == 2


def _replay(records: list[tuple[str, bytes | None]]) -> list[tuple[str, bytes]]:
    table: dict[str, bytes] = {}
    for key, value in records:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return list(table.items())


def test_restore_round_trip_behaves_the_same() -> None:
    cfg = DedupConfig()
    d = Deduplicator(cfg)
    log: list[tuple[str, bytes | None]] = []
    base = [make_text(20 + i) for i in range(6)]
    d.check(art("a0", base[0], "https://g.example/0"), delivery="p/0/0")
    d.check(art("a1", base[1], "https://g.example/1", t=T0 + DAY), delivery="p/0/1")
    d.check(art("a1", base[1] + "\nMore.", "https://g.example/1", t=T0 + DAY), delivery="p/0/2")
    d.check(art("w0", base[0], "https://w.example/0"), delivery="p/0/3")
    log += d.drain_changes()
    d.check(art("a2", base[2], "https://g.example/2", t=T0 + 20 * DAY), delivery="p/0/4")
    assert d.expire(T0 + 20 * DAY) == 3
    log += d.drain_changes()

    d2 = Deduplicator(cfg)
    d2.restore(_replay(log))
    assert len(d2) == len(d) == 1
    probes = [
        (art("a2", base[2], "https://g.example/2"), "p/0/9"),  # resend
        (art("a2", base[2], "https://g.example/2"), "p/0/4"),  # redelivery: same first verdict
        (art("c2", base[2], "https://c.example/2"), "p/0/10"),  # syndicated
        (art("e2", edit_words(base[2], 0.08, 4), "https://e.example/2"), "p/0/11"),
        (art("a0", base[0], "https://g.example/0"), "p/0/12"),  # expired: original again
        (art("n3", base[3], "https://g.example/3"), None),
    ]
    for article, delivery in probes:
        assert d.check(article, delivery) == d2.check(article, delivery)
    assert d.drain_changes() == d2.drain_changes()


def test_restore_keeps_revision_and_aliases() -> None:
    d = Deduplicator()
    text = make_text(30)
    d.check(art("a1", text, "https://g.example/1"))
    d.check(art("a1-v2", text + "\nAdded.", "https://g.example/1"))
    d2 = Deduplicator()
    d2.restore(_replay(d.drain_changes()))
    v = d2.check(art("a1-v2", text + "\nAdded.", "https://g.example/other"))
    assert (v.kind, v.duplicate_of) == ("resend", "a1")


def test_expire_drops_old_articles_by_event_time(dedup: Deduplicator) -> None:
    text = make_text(40)
    dedup.check(art("old", text, "https://g.example/old", t=T0))
    dedup.check(art("new", make_text(41), "https://g.example/new", t=T0 + 10 * DAY))
    dedup.drain_changes()
    assert dedup.expire(T0 + 13 * DAY) == 0
    assert dedup.expire(T0 + 15 * DAY) == 1
    assert len(dedup) == 1
    assert ("a/old", None) in dedup.drain_changes()
    # The expired article is no longer known: its copy is an original now.
    v = dedup.check(art("copy", text, "https://w.example/copy", t=T0 + 15 * DAY))
    assert v.kind == "original"


def test_expired_slots_are_reused_without_false_matches() -> None:
    d = Deduplicator(DedupConfig(window_seconds=DAY, purge_min_dead=1))
    for i in range(30):
        d.check(art(f"a{i}", make_text(200 + i), f"https://g.example/{i}", t=T0))
    assert d.expire(T0 + 2 * DAY) == 30
    later = T0 + 2 * DAY
    kinds = [d.check(art(f"b{i}", make_text(300 + i), f"https://h.example/{i}", t=later)).kind
             for i in range(30)]
    assert kinds == ["original"] * 30
    copy = d.check(art("c", make_text(305), "https://c.example/5", t=T0 + 2 * DAY))
    assert (copy.kind, copy.duplicate_of) == ("syndicated", "b5")


def test_empty_text_never_matches_as_copy(dedup: Deduplicator) -> None:
    assert dedup.check(art("e1", "", "https://g.example/e1")).kind == "original"
    assert dedup.check(art("e2", "", "https://g.example/e2")).kind == "original"
    assert dedup.check(art("e1", "", "https://g.example/e1")).kind == "resend"


def test_batch_equals_one_by_one() -> None:
    texts = [make_text(50 + i % 4) for i in range(8)]
    items = [(art(f"a{i}", t, f"https://s{i}.example/x"), f"q/{i}") for i, t in enumerate(texts)]
    one, many = Deduplicator(), Deduplicator()
    assert [one.check(a, dlv) for a, dlv in items] == many.check_many(items)


def test_records_are_compact() -> None:
    d = Deduplicator()
    for i in range(50):
        a = art(f"id{i:04d}", make_text(400 + i), f"https://g.example/{i}")
        d.check(a, delivery=f"t/0/{i}")
    records = d.drain_changes()
    per_article = sum(len(k) + len(v or b"") for k, v in records) / len(d)
    assert per_article <= 1024
    assert d.state_bytes()["per_article"] <= 1024


def test_copy_of_first_version_found_after_revision(dedup: Deduplicator) -> None:
    text = make_text(60)
    dedup.check(art("a1", text, "https://g.example/1"))
    rewritten = make_text(61)  # the revision replaces the whole text
    assert dedup.check(art("a1", rewritten, "https://g.example/1")).kind == "revision"
    old_copy = dedup.check(art("w1", text, "https://w.example/1", outlet="Wire"))
    new_copy = dedup.check(art("w2", rewritten, "https://w.example/2", outlet="Wire"))
    assert (old_copy.kind, old_copy.duplicate_of) == ("syndicated", "a1")
    assert (new_copy.kind, new_copy.duplicate_of) == ("syndicated", "a1")
    # A second revision replaces the latest version but keeps the first one indexed.
    third = make_text(62)
    dedup.check(art("a1", third, "https://g.example/1"))
    assert dedup.check(art("w3", third, "https://w.example/3")).duplicate_of == "a1"
    assert dedup.check(art("w4", text, "https://w.example/4")).duplicate_of == "a1"


def test_band_index_matches_a_dict_multimap() -> None:
    import numpy as np

    from pipeline.dedup.index import BandIndex

    rng = np.random.default_rng(3)
    bands = 6
    # Few distinct keys, so buckets collide, runs wrap around the tiny table and it must grow.
    universe = rng.integers(1, 2**63, 40, dtype=np.int64).astype(np.uint64)
    index = BandIndex(bands, capacity=16)
    reference: dict[int, set[int]] = {}
    rows = []
    for slot in range(300):
        keys = rng.choice(universe, bands)
        rows.append(keys)
        index.insert_many(np.array([slot]), keys[None, :])
        for k in keys.tolist():
            reference.setdefault(k | (1 << 63), set()).add(slot)
    assert len(index) == 300 * bands
    stranger = rng.integers(1, 2**63, bands, dtype=np.int64).astype(np.uint64)
    queries = np.stack([*rows[:50], stranger])
    for keys, got in zip(queries, index.query_many(queries), strict=True):
        want = set().union(*(reference.get(k | (1 << 63), set()) for k in keys.tolist()))
        assert got == want
    alive = np.ones(300, dtype=bool)
    alive[::3] = False
    index.purge(alive)
    for keys, got in zip(queries, index.query_many(queries), strict=True):
        want = set().union(*(reference.get(k | (1 << 63), set()) for k in keys.tolist()))
        assert got == {s for s in want if alive[s]}
