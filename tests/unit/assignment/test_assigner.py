"""Tests of online story assignment."""

from __future__ import annotations

import math

import orjson
import pytest

from pipeline.assignment.assigner import (
    FEATURE_NAMES,
    ClusterConfig,
    StoryAssigner,
    capitalized_phrases,
    person_ages,
)
from pipeline.common.text import stable_hash
from schemas.records import Article, DedupVerdict

DAY = 86400.0
T0 = 1_700_000_000.0
#: Dormancy in event time: the stream clock does not cap a quiet stretch to one step.
EVENT_CLOCK = float("inf")

FLOOD = [
    "Flooding on the Marrow River forced hundreds of families in Eastbrook to leave their homes "
    "on Tuesday as rain kept falling. Mayor Lena Ortiz opened three shelters.",
    "The Marrow River crested overnight in Eastbrook, flooding homes along the river. Mayor "
    "Lena Ortiz said shelters were full and more rain is expected on the river.",
    "Residents of Eastbrook returned to flooded streets after the Marrow River dropped. Mayor "
    "Lena Ortiz asked for state help to repair homes and shelters damaged by the flooding.",
]
TRIAL = [
    "The fraud trial of banker Victor Hale opened in Kingsport with prosecutors describing "
    "forged loan papers worth millions at Northgate Bank.",
    "A former clerk at Northgate Bank testified in Kingsport that Victor Hale told her to sign "
    "forged loan papers, on the second day of his fraud trial.",
]
ROBOT = [
    "Engineers at Pellman Labs unveiled a robot that sorts recycling by sight, using cameras "
    "and a soft gripper to pick bottles and cans from a belt.",
]


def art(aid: str, text: str, t: float, outlet: str = "herald", title: str = "") -> Article:
    return Article(id=aid, url=None, outlet=outlet, title=title, text=text, lang="en", published=t)


def orig(a: Article) -> DedupVerdict:
    return DedupVerdict(article_id=a.id, kind="original")


def stream() -> list[Article]:
    out = []
    t = T0
    for i, (ev, texts) in enumerate((("f", FLOOD), ("t", TRIAL), ("r", ROBOT))):
        for j, text in enumerate(texts):
            out.append(art(f"{ev}{j}", text, t + 3600 * (i + j), outlet=f"o{j}"))
    # interleave: f0 t0 r0 f1 t1 f2
    order = ["f0", "t0", "r0", "f1", "t1", "f2"]
    by_id = {a.id: a for a in out}
    return [by_id[k] for k in order]


def test_capitalized_phrases_finds_names() -> None:
    found = capitalized_phrases("But Mayor Lena Ortiz met The Bank of England staff. It rained.")
    assert "mayor lena ortiz" in found
    assert "bank of england" in found
    assert "it" not in found and "but" not in found


def test_articles_on_one_event_share_a_story_and_others_do_not() -> None:
    assigner = StoryAssigner()
    got = {a.id: assigner.assign(a, orig(a)).story_id for a in stream()}
    assert got["f0"] == got["f1"] == got["f2"]
    assert got["t0"] == got["t1"]
    assert len({got["f0"], got["t0"], got["r0"]}) == 3


def test_story_id_is_deterministic_from_first_article() -> None:
    assigner = StoryAssigner()
    a = stream()[0]
    result = assigner.assign(a, orig(a))
    assert result.is_new_story
    assert result.story_id == "s-" + stable_hash(a.id)


def test_resend_and_revision_keep_the_story_and_the_count() -> None:
    assigner = StoryAssigner()
    arts = stream()
    for a in arts:
        assigner.assign(a, orig(a))
    sid = assigner.story_of("f0")
    before = assigner.size(sid)
    resend = assigner.assign(arts[0], DedupVerdict("f0", "resend", duplicate_of="f0"))
    revised = art("f0-v2", FLOOD[0] + " Updated.", T0 + 5 * 3600)
    revision = assigner.assign(revised, DedupVerdict("f0-v2", "revision", duplicate_of="f0"))
    assert resend.story_id == sid
    assert revision.story_id == sid
    assert assigner.size(sid) == before


def test_syndicated_copy_joins_the_original_and_counts() -> None:
    assigner = StoryAssigner()
    arts = stream()
    for a in arts:
        assigner.assign(a, orig(a))
    sid = assigner.story_of("r0")
    copy = art("r0-copy", "A wire copy about something else entirely.", T0 + 7200, "wire")
    got = assigner.assign(copy, DedupVerdict("r0-copy", "syndicated", duplicate_of="r0"))
    assert got.story_id == sid
    assert assigner.size(sid) == 2


def test_same_delivery_twice_gives_the_first_answer_and_no_change() -> None:
    assigner = StoryAssigner()
    arts = stream()
    first = [assigner.assign(a, orig(a), delivery=f"p0:{i}") for i, a in enumerate(arts)]
    assigner.drain_changes()
    again = assigner.assign(arts[2], orig(arts[2]), delivery="p0:2")
    assert again == first[2]
    assert assigner.drain_changes() == []


def test_restore_from_drained_records_behaves_like_the_original() -> None:
    arts = stream()
    original = StoryAssigner()
    log: list[tuple[str, bytes | None]] = []
    for i, a in enumerate(arts[:4]):
        original.assign(a, orig(a), delivery=f"d{i}")
        log.extend(original.drain_changes())
    restored = StoryAssigner()
    restored.restore([(k, v) for k, v in log if v is not None])
    for i, a in enumerate(arts[4:], start=4):
        x = original.assign(a, orig(a), delivery=f"d{i}")
        y = restored.assign(a, orig(a), delivery=f"d{i}")
        assert x == y
    assert original.drain_changes() == restored.drain_changes()
    # a redelivery answered before the restart is answered the same after it
    assert restored.assign(arts[1], orig(arts[1]), delivery="d1").story_id == original.story_of(
        "t0"
    )


def test_answers_are_forgotten_once_the_stream_has_moved_on_and_a_restore_keeps_the_rest() -> None:
    cfg = ClusterConfig(answer_memo_seconds=2 * DAY)
    live = StoryAssigner(cfg)
    f0 = art("f0", FLOOD[0], T0)
    first = live.assign(f0, orig(f0), delivery="p0:0")
    assert first.is_new_story
    log = live.drain_changes()  # a record for the answers of each drained batch
    r0 = art("r0", ROBOT[0], T0 + DAY)
    live.assign(r0, orig(r0), delivery="p0:1")
    log += live.drain_changes()
    restored = StoryAssigner(cfg)
    restored.restore([(k, v) for k, v in log if v is not None])
    for assigner in (live, restored):
        assert assigner.assign(f0, orig(f0), delivery="p0:0") == first  # still remembered
        r1 = art("t0", TRIAL[0], T0 + 3 * DAY)
        assigner.assign(r1, orig(r1), delivery="p0:2")
        records = dict(assigner.drain_changes())
        assert "d:p0:0" in records and records["d:p0:0"] is None  # forgotten, record deleted
        assert "d:p0:1" not in records  # given one day before the watermark: kept
        assert orjson.loads(records["d:p0:2"])["batch"][0][0] == "p0:2"  # the new answer
        again = assigner.assign(f0, orig(f0), delivery="p0:0")
        assert again.story_id == first.story_id and not again.is_new_story


def test_dormant_story_leaves_the_index() -> None:
    cfg = ClusterConfig(
        dormant_after_seconds=2 * DAY, max_clock_step=EVENT_CLOCK, recall_max_posting=0
    )
    assigner = StoryAssigner(cfg)
    f0 = art("f0", FLOOD[0], T0)
    first = assigner.assign(f0, orig(f0))
    robot = art("r0", ROBOT[0], T0 + 10 * DAY)
    assigner.assign(robot, orig(robot))
    late = art("f1", FLOOD[1], T0 + 10 * DAY + 60)
    got = assigner.assign(late, orig(late))
    assert got.is_new_story
    assert got.story_id != first.story_id


def test_a_dormant_story_is_found_again_by_its_names_only() -> None:
    cfg = ClusterConfig(dormant_after_seconds=2 * DAY, max_clock_step=EVENT_CLOCK)
    assigner = StoryAssigner(cfg)
    f0 = art("f0", FLOOD[0], T0)
    first = assigner.assign(f0, orig(f0))
    robot = art("r0", ROBOT[0], T0 + 10 * DAY)
    assigner.assign(robot, orig(robot))
    story = assigner._stories[first.story_id]
    assert story.dormant
    assert not any(first.story_id in p for p in assigner._index.values())
    assert any(first.story_id in p for p in assigner._recall.values())
    # the same words without the names find nothing asleep
    plain = art("x", FLOOD[1].lower(), T0 + 10 * DAY + 30)
    assert assigner._recalled(assigner.represent(plain, learn=False)) == []
    # a later report naming the river, the town and the mayor wakes it
    late = art("f1", FLOOD[1], T0 + 10 * DAY + 60)
    assert assigner._recalled(assigner.represent(late, learn=False)) == [first.story_id]
    got = assigner.assign(late, orig(late))
    assert got.story_id == first.story_id and not story.dormant
    assert not any(first.story_id in p for p in assigner._recall.values())


def _kingsport_cases(cfg: ClusterConfig) -> StoryAssigner:
    """Three stories naming Kingsport's police, asleep once a later article came."""
    assigner = StoryAssigner(cfg)
    for i in range(3):
        a = art(f"k{i}", f"Kingsport Police said case {i} of Tarsk Vell{i} was closed.", T0 + i)
        assigner.assign(a, orig(a))
    later = art("r0", ROBOT[0], T0 + 10 * DAY)
    assigner.assign(later, orig(later))
    return assigner


@pytest.mark.parametrize(("cap", "found"), [(2, 0), (3, 1)])
def test_names_shared_by_too_many_dormant_stories_find_none(cap: int, found: int) -> None:
    cfg = ClusterConfig(
        dormant_after_seconds=2 * DAY,
        max_clock_step=EVENT_CLOCK,
        recall_max_posting=cap,
        join_probability=1.1,
    )
    assigner = _kingsport_cases(cfg)
    query = art("q", "Kingsport Police reopened a case.", T0 + 11 * DAY)
    assert len(assigner._recalled(assigner.represent(query, learn=False))) == found


def test_a_story_asleep_past_the_recall_window_is_no_longer_found_by_its_names() -> None:
    cfg = ClusterConfig(
        dormant_after_seconds=2 * DAY,
        max_clock_step=EVENT_CLOCK,
        recall_seconds=20 * DAY,
        join_probability=1.1,
    )
    assigner = _kingsport_cases(cfg)
    query = art("q", "Kingsport Police reopened the case of Tarsk Vell1.", T0 + 11 * DAY)
    doc = assigner.represent(query, learn=False)
    assert len(assigner._recalled(doc)) == 1
    much_later = art("r1", ROBOT[0], T0 + 40 * DAY)
    assigner.assign(much_later, orig(much_later))
    assert assigner._recalled(doc) == []
    assert not any("kingsport" in name for name in assigner._recall)
    assert list(assigner._remembered) == [assigner.story_of("r0")]


def test_a_dormant_story_cuts_only_its_long_vectors() -> None:
    cfg = ClusterConfig(dormant_after_seconds=2 * DAY, dormant_terms=4, max_clock_step=EVENT_CLOCK)
    assigner = StoryAssigner(cfg)
    f0 = art("f0", FLOOD[0], T0, title="Marrow River floods Eastbrook homes as rain keeps falling")
    sid = assigner.assign(f0, orig(f0)).story_id
    story = assigner._stories[sid]
    centroid = dict(zip(story.centroid.ids.tolist(), story.centroid.weights.tolist(), strict=True))
    title = story.title
    assert len(centroid) > 2 * cfg.dormant_terms
    assert cfg.dormant_terms < len(title.ids) <= 2 * cfg.dormant_terms
    robot = art("r0", ROBOT[0], T0 + 10 * DAY)
    assigner.assign(robot, orig(robot))
    assert story.dormant
    heaviest = sorted(centroid.values(), reverse=True)[: cfg.dormant_terms]
    assert sorted(story.centroid.weights.tolist(), reverse=True) == heaviest
    assert set(story.centroid.ids.tolist()) <= set(centroid)
    assert abs(story.c_norm - sum(v * v for v in heaviest) ** 0.5) < 1e-12
    assert story.title is title  # short enough to keep whole


def test_by_default_a_dormant_story_keeps_its_vectors_whole() -> None:
    def centroid_after_sleep(cfg: ClusterConfig) -> tuple[int, int]:
        assigner = StoryAssigner(cfg)
        sid = ""
        for i, word in enumerate(("alpha", "beta")):
            text = "Eastbrook flood warning. " + " ".join(f"{word}{n}" for n in range(60))
            a = art(f"a{i}", text, T0 + i * 60)
            sid = assigner.assign(a, orig(a)).story_id
        story = assigner._stories[sid]
        before = len(story.centroid.ids)
        robot = art("r0", ROBOT[0], T0 + 10 * DAY)
        assigner.assign(robot, orig(robot))
        assert story.dormant
        return before, len(story.centroid.ids)

    eager = {
        "dormant_after_seconds": 2 * DAY,
        "join_probability": 0.0,
        "max_clock_step": EVENT_CLOCK,
    }
    before, after = centroid_after_sleep(ClusterConfig(**eager))
    assert before > 80 and after == before
    assert centroid_after_sleep(ClusterConfig(**eager, dormant_terms=40)) == (before, 40)


def test_going_dormant_writes_nothing_and_a_restore_puts_the_story_to_sleep_again() -> None:
    cfg = ClusterConfig(dormant_after_seconds=2 * DAY, dormant_terms=4, max_clock_step=EVENT_CLOCK)
    live = StoryAssigner(cfg)
    f0 = art("f0", FLOOD[0], T0, title="Marrow River floods Eastbrook homes as rain keeps falling")
    sid = live.assign(f0, orig(f0)).story_id
    log = live.drain_changes()
    robot = art("r0", ROBOT[0], T0 + 10 * DAY)
    live.assign(robot, orig(robot))
    later = live.drain_changes()
    log.extend(later)
    assert live._stories[sid].dormant
    assert "s:" + sid not in dict(later)  # the dormant story's record is not rewritten
    restored = StoryAssigner(cfg)
    restored.restore([(k, v) for k, v in log if v is not None])
    story, again = live._stories[sid], restored._stories[sid]
    assert again.dormant
    assert again.centroid.ids.tolist() == story.centroid.ids.tolist()  # compacted alike
    assert again.centroid.weights.tolist() == story.centroid.weights.tolist()
    assert again.c_norm == story.c_norm
    assert not any(sid in postings for postings in restored._index.values())
    assert restored._recall == live._recall and any(sid in p for p in live._recall.values())
    # both wake up alike when a copy of its article arrives
    copy = art("f0-copy", FLOOD[0], T0 + 10 * DAY + 60)
    verdict = DedupVerdict(article_id="f0-copy", kind="syndicated", duplicate_of="f0")
    assert live.assign(copy, verdict) == restored.assign(copy, verdict)
    assert live.drain_changes() == restored.drain_changes()


def test_the_dormancy_queue_holds_a_story_once_however_many_articles_it_gets() -> None:
    cfg = ClusterConfig(dormant_after_seconds=2 * DAY, max_clock_step=EVENT_CLOCK)
    assigner = StoryAssigner(cfg)
    flood = [art(f"f{i}", text, T0 + i * 3600) for i, text in enumerate(FLOOD)]
    sid = {assigner.assign(a, orig(a)).story_id for a in flood}
    assert len(sid) == 1
    assert len(assigner._expiry) == 1
    # due under its first article's time, it is queued again under its last one's ...
    robot = art("r0", ROBOT[0], T0 + 2 * DAY + 1800)
    assigner.assign(robot, orig(robot))
    story = assigner._stories[sid.pop()]
    assert not story.dormant
    # ... and goes to sleep once that one is two days old
    late = art("t0", TRIAL[0], T0 + 2 * DAY + 3 * 3600)
    assigner.assign(late, orig(late))
    assert story.dormant


def test_event_time_not_wall_clock_decides_dormancy() -> None:
    cfg = ClusterConfig(dormant_after_seconds=2 * DAY, max_clock_step=EVENT_CLOCK)
    assigner = StoryAssigner(cfg)
    f0 = art("f0", FLOOD[0], 1_000.0)
    f1 = art("f1", FLOOD[1], 1_000.0 + DAY)
    a = assigner.assign(f0, orig(f0))
    b = assigner.assign(f1, orig(f1))
    assert a.story_id == b.story_id


def test_a_quiet_stretch_of_the_stream_counts_as_one_clock_step() -> None:
    # a corpus whose datelines are a year off: nothing arrives in between
    cfg = ClusterConfig(dormant_after_seconds=2 * DAY, max_clock_step=DAY)
    assigner = StoryAssigner(cfg)
    f0 = art("f0", FLOOD[0], T0)
    sid = assigner.assign(f0, orig(f0)).story_id
    f1 = art("f1", FLOOD[1], T0 + 365 * DAY)
    assigner._advance(f1.published)
    story = assigner._stories[sid]
    assert not story.dormant
    feats = assigner.features(assigner.represent(f1, learn=False), story)
    gap = feats[FEATURE_NAMES.index("log_gap_days")]
    assert abs(gap - math.log1p(1.0)) < 1e-9  # one day of stream time, not a year
    assert assigner.assign(f1, orig(f1)).story_id == sid
    # in event time the same story would have gone to sleep
    strict = StoryAssigner(
        ClusterConfig(dormant_after_seconds=2 * DAY, max_clock_step=math.inf, recall_max_posting=0)
    )
    strict.assign(f0, orig(f0))
    assert strict.assign(f1, orig(f1)).is_new_story


def test_a_busy_stream_puts_a_story_to_sleep_on_its_horizon() -> None:
    cfg = ClusterConfig(dormant_after_seconds=3 * DAY, max_clock_step=DAY)
    assigner = StoryAssigner(cfg)
    f0 = art("f0", FLOOD[0], T0)
    story = assigner._stories[assigner.assign(f0, orig(f0)).story_id]
    for day in range(1, 6):  # the stream goes on every day with other news
        other = art(f"r{day}", ROBOT[0] + f" Day {day}.", T0 + day * DAY)
        assigner.assign(other, orig(other))
        assert story.dormant == (day > 3)


def test_the_gap_is_judged_against_the_story_rhythm() -> None:
    rhythm = FEATURE_NAMES.index("log_gap_rhythm")
    # a burst: three reports an hour apart; a running story: three reports a week apart
    for label, step in (("burst", 3600.0), ("weekly", 7 * DAY)):
        one = StoryAssigner(ClusterConfig(max_clock_step=math.inf, join_probability=0.0))
        sid = ""
        for i, text in enumerate(FLOOD):
            a = art(f"{label}{i}", text, T0 + i * step)
            sid = one.assign(a, orig(a)).story_id
        story = one._stories[sid]
        late = art(f"{label}-late", FLOOD[0], T0 + 2 * step + 7 * DAY)
        one._advance(late.published)
        feats = one.features(one.represent(late, learn=False), story)
        mean_gap = step / DAY
        expected = math.log1p(7.0 / (1.0 + mean_gap))
        assert abs(feats[rhythm] - expected) < 1e-9
        if label == "burst":
            burst = feats[rhythm]
    assert burst > feats[rhythm]  # a week is long for a burst, ordinary for a weekly story


def test_records_without_the_stream_clock_still_load() -> None:
    live = StoryAssigner(ClusterConfig(max_clock_step=DAY))
    f0 = art("f0", FLOOD[0], T0)
    sid = live.assign(f0, orig(f0)).story_id
    r0 = art("r0", ROBOT[0], T0 + 2 * DAY)
    live.assign(r0, orig(r0))
    old = []
    for key, value in live.drain_changes():
        if value is not None and (key == "n" or key.startswith("s:")):
            data = orjson.loads(value)
            data.pop("clock", None)
            data.pop("seen", None)
            value = orjson.dumps(data)
        old.append((key, value))
    restored = StoryAssigner(ClusterConfig(max_clock_step=DAY))
    restored.restore([(k, v) for k, v in old if v is not None])
    assert restored._clock == T0 + 2 * DAY  # the watermark
    assert restored._stories[sid].seen == T0  # idle since its last article, in event time
    f1 = art("f1", FLOOD[1], T0 + 2 * DAY + 60)
    assert restored.assign(f1, orig(f1)).story_id == sid


def _centroid_only(**kw: float) -> ClusterConfig:
    """A config whose decision is "centroid cosine >= 0.5" (weights chosen by hand)."""
    n = len(ClusterConfig().weights)
    weights = [0.0] * n
    weights[0] = 10.0
    return ClusterConfig(weights=tuple(weights), bias=-5.0, **kw)


HARBOR = "harbor ferry dock pier tide crane cargo vessel captain"
ORCHARD = "orchard apple pear harvest ladder basket cider blossom grower"


def test_converging_stories_merge_into_the_older_one() -> None:
    cfg = _centroid_only(merge_probability=0.3, merge_centroid_cosine=0.1, related_cosine=2.0)
    assigner = StoryAssigner(cfg)
    a = art("a", HARBOR, T0)
    b = art("b", ORCHARD, T0 + 60)
    both = art("c", HARBOR + " " + ORCHARD, T0 + 120)
    first = assigner.assign(a, orig(a))
    second = assigner.assign(b, orig(b))
    assert first.story_id != second.story_id
    third = assigner.assign(both, orig(both))
    assert third.story_id == first.story_id
    assert third.merged_from == [second.story_id]
    assert assigner.size(first.story_id) == 3
    assert assigner.story_of("b") == first.story_id


def test_related_stories_share_a_group() -> None:
    cfg = _centroid_only(merge_probability=2.0, related_cosine=0.3)
    assigner = StoryAssigner(cfg)
    a = art("a", HARBOR, T0)
    b = art("b", ORCHARD, T0 + 60)
    lone = art("z", ROBOT[0], T0 + 90)
    both = art("c", HARBOR + " " + ORCHARD, T0 + 120)
    sa = assigner.assign(a, orig(a)).story_id
    sb = assigner.assign(b, orig(b)).story_id
    sz = assigner.assign(lone, orig(lone)).story_id
    got = assigner.assign(both, orig(both))
    assert got.story_id in (sa, sb)
    assert assigner.group_of(sa) == assigner.group_of(sb) == sa
    assert assigner.related(sa) == [sb]
    assert got.related == [sb if got.story_id == sa else sa]
    assert assigner.related(sz) == []
    assert assigner.group_of(sz) == sz


def test_merge_and_groups_survive_restore() -> None:
    cfg = _centroid_only(merge_probability=0.3, merge_centroid_cosine=0.1, related_cosine=2.0)
    original = StoryAssigner(cfg)
    items: list[tuple[str, bytes | None]] = []
    for i, (aid, text) in enumerate((("a", HARBOR), ("b", ORCHARD), ("c", HARBOR + " " + ORCHARD))):
        x = art(aid, text, T0 + 60 * i)
        original.assign(x, orig(x))
        items.extend(original.drain_changes())
    restored = StoryAssigner(cfg)
    restored.restore([(k, v) for k, v in items if v is not None])
    assert restored.story_of("b") == original.story_of("b")
    nxt = art("d", ORCHARD + " cider", T0 + 600)
    assert restored.assign(nxt, orig(nxt)) == original.assign(nxt, orig(nxt))


def test_related_groups_survive_restore() -> None:
    cfg = _centroid_only(merge_probability=2.0, related_cosine=0.3)
    original = StoryAssigner(cfg)
    log: list[tuple[str, bytes | None]] = []
    texts = (("a", HARBOR), ("b", ORCHARD), ("z", ROBOT[0]), ("c", HARBOR + " " + ORCHARD))
    for i, (aid, text) in enumerate(texts):
        x = art(aid, text, T0 + 60 * i)
        original.assign(x, orig(x))
        log.extend(original.drain_changes())
    latest = dict(log)
    restored = StoryAssigner(cfg)
    restored.restore([(k, v) for k, v in latest.items() if v is not None])
    for aid in ("a", "b", "z", "c"):
        sid = original.story_of(aid)
        assert restored.story_of(aid) == sid
        assert restored.group_of(sid) == original.group_of(sid)
        assert restored.related(sid) == original.related(sid)


# Two reports of one crash and a report of another crash of the same kind: the opening numbers
# (an age, a count of cars) are what tell the two crashes apart.
CRASH_A = (
    "A 14-year-old cyclist was hurt when 3 cars collided on Harbor Road in Millbrook on "
    "Sunday, police said."
)
CRASH_A_AGAIN = (
    "Police in Millbrook said the 14-year-old cyclist hurt in the Harbor Road collision "
    "is in stable condition."
)
CRASH_B = (
    "A 61-year-old cyclist was hurt when 5 cars collided on Harbor Road in Millbrook on "
    "Sunday, police said."
)


def _numbers_index() -> tuple[int, int]:
    from pipeline.assignment.assigner import FEATURE_NAMES

    return FEATURE_NAMES.index("numbers_shared"), FEATURE_NAMES.index("numbers_disjoint")


def test_opening_numbers_skip_years_and_later_text() -> None:
    assigner = StoryAssigner(ClusterConfig(lede_tokens=12))
    text = "In 2019 a 14-year-old and 2 friends found 30 coins. " + "word " * 20 + "then 99 more"
    doc = assigner.represent(art("n1", text, T0, title="Coins 250 years old found"))
    assert doc.numbers == frozenset({"14", "2", "30", "250"})


def test_a_shared_opening_number_is_a_signal_and_different_numbers_are_another() -> None:
    shared_at, disjoint_at = _numbers_index()
    assigner = StoryAssigner()
    first = art("c0", CRASH_A, T0)
    sid = assigner.assign(first, orig(first)).story_id
    story = assigner._stories[sid]
    assert set(story.numbers) == {"14", "3"}
    same = assigner.features(assigner.represent(art("c1", CRASH_A_AGAIN, T0), learn=False), story)
    other = assigner.features(assigner.represent(art("c2", CRASH_B, T0), learn=False), story)
    assert (same[shared_at], same[disjoint_at]) == (1.0, 0.0)
    assert (other[shared_at], other[disjoint_at]) == (0.0, 1.0)
    words = assigner.features(assigner.represent(art("c3", FLOOD[0], T0), learn=False), story)
    assert (words[shared_at], words[disjoint_at]) == (0.0, 0.0)  # no numbers: no signal


def test_the_shared_number_signal_raises_the_join_probability() -> None:
    shared_at, disjoint_at = _numbers_index()
    assigner = StoryAssigner()
    first = art("c0", CRASH_A, T0)
    story = assigner._stories[assigner.assign(first, orig(first)).story_id]
    feats = assigner.features(assigner.represent(art("c1", CRASH_A_AGAIN, T0), learn=False), story)
    off = list(feats)
    off[shared_at] = 0.0
    assert assigner.score(feats) > assigner.score(off)
    # with ages as their own signal, different people's ages weigh against a join (the
    # opening numbers' disjointness, which they mostly were, has a weight near zero)
    conflict = list(off)
    conflict[FEATURE_NAMES.index("ages_disjoint")] = 1.0
    assert assigner.score(conflict) < assigner.score(off)
    assert abs(assigner.config.weights[disjoint_at]) < 0.2


def test_ages_given_to_people_are_found_and_compared_with_the_story() -> None:
    assert person_ages("A 25-year-old man and John Hale, 31, were shot.") == ["25", "31"]
    assert person_ages("the victim, aged 7, was taken in on March 3, 2013, at 10 a.m.") == ["7"]
    shared_at = FEATURE_NAMES.index("ages_shared")
    disjoint_at = FEATURE_NAMES.index("ages_disjoint")
    assigner = StoryAssigner()
    first = art("g0", "A 25-year-old man was shot in Kingsport on Friday night, police said.", T0)
    story = assigner._stories[assigner.assign(first, orig(first)).story_id]
    assert story.ages == {"25": 1}
    again = art("g1", "Police named the 25-year-old man shot in Kingsport on Friday.", T0)
    other = art("g2", "A 41-year-old man was shot in Kingsport on Friday night.", T0)
    plain = art("g3", "A man was shot in Kingsport on Friday night, police said.", T0)
    for a, want in ((again, (1.0, 0.0)), (other, (0.0, 1.0)), (plain, (0.0, 0.0))):
        f = assigner.features(assigner.represent(a, learn=False), story)
        assert (f[shared_at], f[disjoint_at]) == want


def test_story_numbers_stop_growing_at_the_cap_and_survive_restore() -> None:
    assigner = StoryAssigner(ClusterConfig(max_story_numbers=2))
    first = art("c0", CRASH_A, T0)
    sid = assigner.assign(first, orig(first)).story_id
    again = art("c1", CRASH_A + " 7 8 9", T0 + 60)
    assigner._add_to_story(assigner._stories[sid], assigner.represent(again), again)
    assert assigner._stories[sid].numbers == {"14": 1, "3": 1}  # it was full already
    restored = StoryAssigner()
    restored.restore([(k, v) for k, v in assigner.drain_changes() if v is not None])
    assert restored._stories[sid].numbers == {"14": 1, "3": 1}


def test_a_far_second_candidate_is_not_scored_by_the_full_model() -> None:
    flood_story = art("a", FLOOD[0], T0)
    # shares one name with the flood story, little else
    other_story = art("b", "Mayor Lena Ortiz cut a ribbon at the new Eastbrook library.", T0)
    probe = art("c", FLOOD[1], T0 + 3600)
    full = StoryAssigner(ClusterConfig(second_cosine_share=0.0))
    lazy = StoryAssigner(ClusterConfig())
    for assigner in (full, lazy):
        for a in (flood_story, other_story):
            story = assigner._new_story(a)
            assigner._add_to_story(story, assigner.represent(a), a)
            assigner._link(a.id, story.id)
    ranked = lazy._ranked(lazy.represent(probe, learn=False))
    assert len(ranked) == 2 and ranked[1][0] < 0.5 * ranked[0][0]
    assert len(full._scored(full.represent(probe, learn=False))) == 2
    scored = lazy._scored(lazy.represent(probe, learn=False))
    assert [s.id for _, s, _ in scored] == [ranked[0][1].id]
    # the decision is the same either way
    assert lazy.assign(probe, orig(probe)).story_id == full.assign(probe, orig(probe)).story_id
