"""Splitting a story that tells two events as one: the test, the assigner, downstream views."""

from __future__ import annotations

import math

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

from agents.web.readmodel import ReadModel
from pipeline.assignment.assigner import ClusterConfig, StoryAssigner
from pipeline.assignment.splits import _top_cut, row_cosines, split_by_cosines
from pipeline.dedup.minhash import key_ids
from pipeline.evaluation import FinalStories
from pipeline.summaries.book import StoryBook
from schemas.records import Article, DedupVerdict, StoryAssignment, StorySplit
from tests.unit.summaries.test_book import _fake_summary

T0 = 1_700_000_000.0
DAY = 86400.0
NOTE = " Reported for the Harbour Courier news desk."
QUAKE = [
    "An earthquake shook Velmora on Monday, toppling a church tower and cracking roads across "
    "the old town.",
    "Rescuers in Velmora searched rubble after the earthquake toppled the church tower and "
    "cracked old town roads.",
    "Velmora counted damage to the old town after Monday's earthquake brought down the church "
    "tower.",
]
STRIKE = [
    "Dock workers at Port Selwyn walked out over pay, leaving container ships waiting at anchor.",
    "The pay strike at Port Selwyn docks left container ships at anchor for a second day.",
    "Container ships stayed at anchor as the Port Selwyn dock strike over pay went on.",
]


def _article(aid: str, text: str, t: float, outlet: str) -> Article:
    return Article(id=aid, url=None, outlet=outlet, title="", text=text, lang="en", published=t)


def _orig(article: Article) -> DedupVerdict:
    return DedupVerdict(article_id=article.id, kind="original")


def two_events() -> list[Article]:
    """Quake and strike reports, alternating, all with the same desk note (one shared phrase)."""
    out = []
    for i, (quake, strike) in enumerate(zip(QUAKE, STRIKE, strict=True)):
        out.append(_article(f"q{i}", quake + NOTE, T0 + i * 7200, f"o{i}"))
        out.append(_article(f"p{i}", strike + NOTE, T0 + i * 7200 + 3600, f"p{i}"))
    return out


def eager() -> StoryAssigner:
    """An assigner that joins every candidate it finds, so both events start as one story,
    and checks stories at 6 articles (the fewest with 3 on each side)."""
    return StoryAssigner(ClusterConfig(join_probability=0.0, split_sizes=(6, 12)))


# ---------------------------------------------------------------------------- the test


def _vec(*words: str) -> dict[str, float]:
    w = 1.0 / len(words) ** 0.5
    return dict.fromkeys(words, w)


def _split(
    vectors: list[dict[str, float]], min_side: int, max_ratio: float, min_within: float
) -> list[bool] | None:
    """The split test of word vectors, their words given ids as the assigner's terms have."""
    ids = [key_ids(list(vec)).astype(np.int64) for vec in vectors]
    weights = [np.array(list(vec.values())) for vec in vectors]
    return split_by_cosines(row_cosines(ids, weights), min_side, max_ratio, min_within)


def test_two_tight_groups_are_cut_apart_and_the_side_without_the_first_leaves() -> None:
    a = [_vec("quake", "tower", "velmora"), _vec("quake", "velmora", "rubble")]
    a.append(_vec("quake", "tower", "rubble"))
    b = [_vec("strike", "port", "ships"), _vec("strike", "ships", "pay")]
    b.append(_vec("strike", "port", "pay"))
    order = [a[0], b[0], a[1], b[1], a[2], b[2]]
    leave = _split(order, min_side=3, max_ratio=0.5, min_within=0.15)
    assert leave == [False, True, False, True, False, True]


def test_a_coherent_story_is_not_split() -> None:
    vectors = [_vec("quake", "velmora", f"w{i}") for i in range(6)]
    assert _split(vectors, min_side=3, max_ratio=0.5, min_within=0.15) is None


def test_a_loose_story_is_not_split_even_when_its_parts_differ() -> None:
    # two groups whose members barely resemble one another: a broad story, not two events
    a = [_vec("quake", *(f"a{i}{j}" for j in range(8))) for i in range(3)]
    b = [_vec("strike", *(f"b{i}{j}" for j in range(8))) for i in range(3)]
    assert _split(a + b, min_side=3, max_ratio=0.5, min_within=0.0) is not None
    assert _split(a + b, min_side=3, max_ratio=0.5, min_within=0.15) is None


def test_a_side_smaller_than_the_minimum_stays() -> None:
    a = [_vec("quake", "tower", "velmora")] * 5
    b = [_vec("strike", "port", "ships")]
    assert _split(a + b, min_side=3, max_ratio=0.5, min_within=0.15) is None
    assert _split(a + b, min_side=1, max_ratio=0.5, min_within=0.15) == [False] * 5 + [True]


def _linkage_cut(dist: np.ndarray) -> list[bool]:
    """The two clusters under the last merge of scipy's average linkage, as flags."""
    merges = linkage(squareform(dist, checks=False), "average")
    n = len(dist)
    flags = [False] * n
    pending = [int(merges[-1, 1])]
    while pending:
        node = pending.pop()
        if node < n:
            flags[node] = True
        else:
            pending.extend(int(child) for child in merges[node - n, :2])
    return flags


def test_the_top_cut_is_the_one_of_average_linkage_ties_included() -> None:
    rng = np.random.default_rng(11)
    for trial in range(300):
        n = int(rng.choice([2, 3, 6, 8, 16, 33]))
        if trial % 4 == 0:  # groups with nothing in common: exactly equal distances
            groups = rng.integers(0, 3, n)
            dist = (groups[:, None] != groups[None, :]).astype(float)
        else:
            points = rng.random((n, 4))
            dist = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(dist, 0.0)
        expected = _linkage_cut(dist)
        got = _top_cut(dist.tolist())
        assert got == expected or got == [not f for f in expected], (trial, n)


def test_row_cosines_match_the_dot_products_of_the_unit_rows() -> None:
    rng = np.random.default_rng(7)
    ids = [rng.choice(40, size=k, replace=False) for k in (12, 0, 30, 5, 30)]
    weights = [rng.random(len(i)) + 0.01 for i in ids]
    dense = np.zeros((len(ids), 40))
    for row, (i, w) in enumerate(zip(ids, weights, strict=True)):
        dense[row, i] = w / (np.linalg.norm(w) or 1.0)
    sims = row_cosines(ids, weights)
    assert np.allclose(sims, dense @ dense.T, rtol=0.0, atol=1e-12)
    assert sims[1, 1] == 0.0  # a row without terms resembles nothing, itself included


def test_an_article_is_compared_by_its_heaviest_terms_alone() -> None:
    assigner = StoryAssigner(ClusterConfig(split_terms=3))
    doc = assigner.represent(_article("q0", QUAKE[0] + NOTE, T0, "o0"))
    heaviest = doc.terms.keys[:3]
    assert len(doc.terms.keys) > 3
    assert doc.split_ids.tolist() == key_ids(heaviest).tolist()
    weights = np.array(doc.terms.weights[:3])
    assert np.allclose(doc.split_weights / doc.split_weights[0], weights / weights[0])


# ---------------------------------------------------------------------------- the assigner


def test_a_story_holding_two_events_splits_when_it_reaches_a_checked_size() -> None:
    assigner = eager()
    answers = [assigner.assign(a, _orig(a)) for a in two_events()]
    first = answers[0].story_id
    assert all(ans.split is None for ans in answers[:5])
    assert {ans.story_id for ans in answers[:5]} == {first}  # one story before the check
    split = answers[5].split
    assert split is not None and split.story_id == first
    assert sorted(split.article_ids) == ["p0", "p1", "p2"]
    assert answers[5].story_id == split.new_story_id  # the arriving strike report left too
    for i in range(3):
        assert assigner.story_of(f"q{i}") == first
        assert assigner.story_of(f"p{i}") == split.new_story_id
    assert assigner.size(first) == 3 and assigner.size(split.new_story_id) == 3
    # the two halves are one event each of one wider subject: related
    assert assigner.related(first) == [split.new_story_id]


def test_after_a_split_each_event_gets_its_own_next_reports() -> None:
    assigner = StoryAssigner()
    eager_one = eager()
    for a in two_events():
        eager_one.assign(a, _orig(a))
    # restore the eager assigner's stories into one with the default decision
    assigner.restore([(k, v) for k, v in eager_one.drain_changes() if v is not None])
    quake = _article("q3", QUAKE[1].replace("Rescuers", "Volunteers") + NOTE, T0 + 9 * 3600, "x")
    strike = _article("p3", STRIKE[1].replace("second", "third") + NOTE, T0 + 10 * 3600, "y")
    assert assigner.assign(quake, _orig(quake)).story_id == eager_one.story_of("q0")
    assert assigner.assign(strike, _orig(strike)).story_id == eager_one.story_of("p0")


def test_copies_and_resends_move_with_their_original() -> None:
    assigner = eager()
    arts = two_events()
    for a in arts[:5]:
        assigner.assign(a, _orig(a))
    copy = _article("p0-copy", arts[1].text, arts[1].published + 60, "wire")
    syndicated = DedupVerdict(article_id=copy.id, kind="syndicated", duplicate_of="p0")
    resend = DedupVerdict(article_id="p0-copy-again", kind="resend", duplicate_of="p0-copy")
    assigner.assign(copy, syndicated)
    assigner.assign(_article("p0-copy-again", copy.text, copy.published, "wire"), resend)
    assert assigner.size(assigner.story_of("q0")) == 6  # the copy counts, the resend does not
    split = assigner.assign(arts[5], _orig(arts[5])).split
    assert split is not None
    assert sorted(split.article_ids) == ["p0", "p0-copy", "p0-copy-again", "p1", "p2"]
    assert assigner.story_of("p0-copy-again") == split.new_story_id
    assert assigner.size(split.new_story_id) == 4 and assigner.size(split.story_id) == 3


def test_a_redelivered_split_is_answered_the_same_before_and_after_a_restore() -> None:
    arts = two_events()
    assigner = eager()
    log: list[tuple[str, bytes | None]] = []
    answers = []
    for i, a in enumerate(arts):
        answers.append(assigner.assign(a, _orig(a), delivery=f"d{i}"))
        log.extend(assigner.drain_changes())
    assert answers[5].split is not None
    assert assigner.assign(arts[5], _orig(arts[5]), delivery="d5") == answers[5]
    restored = eager()
    restored.restore([(k, v) for k, v in log if v is not None])
    assert restored.assign(arts[5], _orig(arts[5]), delivery="d5") == answers[5]
    for i in range(3):
        assert restored.story_of(f"q{i}") == answers[0].story_id
        assert restored.story_of(f"p{i}") == answers[5].split.new_story_id


def test_a_restored_story_splits_as_the_original_does() -> None:
    # the kept articles' vectors are records: a restart decides exactly as before
    arts = two_events()
    original = eager()
    for a in arts[:5]:
        original.assign(a, _orig(a))
    records = [(k, v) for k, v in original.drain_changes() if v is not None]
    assert sum(k.startswith("m:") for k, _ in records) == 5
    restored = eager()
    restored.restore(records)
    expected = original.assign(arts[5], _orig(arts[5]))
    assert expected.split is not None
    assert restored.assign(arts[5], _orig(arts[5])) == expected
    assert restored.drain_changes() == original.drain_changes()


def test_records_of_an_older_version_without_kept_vectors_are_not_split() -> None:
    arts = two_events()
    original = eager()
    for a in arts[:5]:
        original.assign(a, _orig(a))
    records = [(k, v) for k, v in original.drain_changes() if v is not None]
    restored = eager()
    restored.restore([(k, v) for k, v in records if not k.startswith("m:")])
    answer = restored.assign(arts[5], _orig(arts[5]))
    assert answer.split is None and answer.story_id == original.story_of("q0")


def test_a_story_outgrowing_the_checked_sizes_lets_go_of_its_vectors() -> None:
    assigner = StoryAssigner(ClusterConfig(join_probability=0.0, split_sizes=(4,)))
    arts = [_article(f"q{i}", QUAKE[i % 3] + NOTE, T0 + i * 60, f"o{i}") for i in range(6)]
    for a in arts[:4]:
        assigner.assign(a, _orig(a))
    assert set(assigner._member_docs) == {"q0", "q1", "q2", "q3"}
    assigner.assign(arts[4], _orig(arts[4]))
    assert assigner._member_docs == {}


def test_a_dormant_story_keeps_its_vectors_and_splits_when_woken() -> None:
    cfg = ClusterConfig(
        join_probability=0.0, split_sizes=(6,), dormant_after_seconds=DAY, max_clock_step=math.inf
    )
    assigner = StoryAssigner(cfg)
    arts = two_events()
    for a in arts[:5]:
        assigner.assign(a, _orig(a))
    late = _article("late", "A comet was seen over Tarsk.", T0 + 5 * DAY, "z")
    assigner.assign(late, _orig(late))
    assert assigner._stories[assigner.story_of("q0")].dormant
    assert {"q0", "p0", "q1", "p1", "q2", "late"} == set(assigner._member_docs)
    woken = _article("p2b", STRIKE[2] + NOTE, T0 + 5 * DAY + 60, "p9")
    answer = assigner.assign(woken, _orig(woken))
    assert answer.split is not None
    assert answer.split.article_ids == ["p0", "p1", "p2b"]


# ---------------------------------------------------------------------------- downstream


def _assignment(story: str, aid: str, split: StorySplit | None = None) -> StoryAssignment:
    article = _article(aid, f"Text of {aid}.", T0, "o")
    return StoryAssignment(story_id=story, article=article, verdict=_orig(article), split=split)


def test_the_story_book_moves_the_split_members_once() -> None:
    book = StoryBook.in_memory()
    for aid in ("a", "b", "c"):
        book.add(_assignment("s1", aid))
    split = StorySplit(story_id="s1", new_story_id="s2", article_ids=["b", "c"])
    arrival = _assignment("s2", "d", split)
    assert set(book.add(arrival)) == {"s1", "s2"}
    assert [a.id for a, _ in book.story_members("s1")] == ["a"]
    assert [a.id for a, _ in book.story_members("s2")] == ["b", "c", "d"]
    for story in ("s1", "s2"):
        book.refresh(story, _fake_summary, now=1.0)
    assert book.add(arrival) == []  # a redelivery changes nothing
    assert [a.id for a, _ in book.story_members("s2")] == ["b", "c", "d"]


def test_final_stories_follow_splits_and_later_merges() -> None:
    tracker = FinalStories()
    for aid in ("a", "b", "c"):
        tracker.add(_assignment("s1", aid))
    tracker.add(_assignment("s2", "d", StorySplit("s1", "s2", ["b", "c"])))
    assert tracker.stories() == {"a": "s1", "b": "s2", "c": "s2", "d": "s2"}
    merge = _assignment("s3", "e")
    merge.merged_from = ["s2"]
    tracker.add(merge)
    assert tracker.stories() == {"a": "s1", "b": "s3", "c": "s3", "d": "s3", "e": "s3"}


def test_the_read_model_gives_an_articles_story_after_a_split() -> None:
    model = ReadModel()
    for aid in ("a", "b"):
        model.apply_assignment(_assignment("s1", aid))
    model.apply_assignment(_assignment("s2", "c", StorySplit("s1", "s2", ["b"])))
    assert [model.story_of(a) for a in ("a", "b", "c")] == ["s1", "s2", "s2"]
    assert model.story_of("unknown") is None
