"""The story book: membership, revisions, resends, merges, versions and idempotence."""

from __future__ import annotations

import orjson

from pipeline.engine import summarize_story_with
from pipeline.summaries.book import RefreshSchedule, StoryBook
from pipeline.summaries.summarize import SummaryConfig
from schemas import Article, DedupVerdict, Source, StoryAssignment, StoryUpdate


def _article(article_id: str, text: str = "Body text.", outlet: str = "a.example") -> Article:
    return Article(
        id=article_id,
        url=f"https://{outlet}/{article_id}",
        outlet=outlet,
        title=f"Title {article_id}",
        text=text,
        lang="en",
        published=1000.0,
        content_hash=str(hash(text)),
    )


def _assign(story: str, article: Article, kind: str = "original", of: str | None = None):
    verdict = DedupVerdict(article_id=article.id, kind=kind, duplicate_of=of, replaces=of)
    return StoryAssignment(story_id=story, article=article, verdict=verdict)


def _fake_summary(
    story_id, members, *, version, previous, related, now, citations=None
) -> StoryUpdate:
    return StoryUpdate(
        story_id=story_id,
        version=version,
        updated_at=now,
        first_seen=now,
        headline=members[0][0].title,
        status_line=f"Updated ({len(members)} articles)",
        article_count=len(members),
    )


def test_members_count_and_versions_grow_by_one():
    book = StoryBook.in_memory()
    assert book.add(_assign("s1", _article("a"))) == ["s1"]
    first = book.refresh("s1", _fake_summary, now=1.0)
    assert first is not None and first.version == 1 and first.article_count == 1
    book.add(_assign("s1", _article("b", outlet="b.example")))
    second = book.refresh("s1", _fake_summary, now=2.0)
    assert second.version == 2 and second.status_line == "Updated (2 articles)"


def test_resend_and_redelivery_change_nothing():
    book = StoryBook.in_memory()
    book.add(_assign("s1", _article("a")))
    book.refresh("s1", _fake_summary, now=1.0)
    assert book.add(_assign("s1", _article("a"), kind="resend", of="a")) == []
    assert book.add(_assign("s1", _article("a"))) == []
    assert book.refresh("s1", _fake_summary, now=2.0) is None
    assert book.latest("s1").version == 1


def test_revision_replaces_text_and_keeps_count():
    book = StoryBook.in_memory()
    book.add(_assign("s1", _article("a", "Old text.")))
    revised = _article("a2", "New text with a correction.")
    assert book.add(_assign("s1", revised, kind="revision", of="a")) == ["s1"]
    members = book.story_members("s1")
    assert len(members) == 1
    article, verdict = members[0]
    assert article.id == "a" and article.text == "New text with a correction."
    assert verdict.kind == "original"


def test_merge_moves_members_and_closes_the_absorbed_story():
    book = StoryBook.in_memory()
    book.add(_assign("s1", _article("a")))
    book.add(_assign("s2", _article("b", outlet="b.example")))
    merge = _assign("s1", _article("c", outlet="c.example"))
    merge.merged_from = ["s2"]
    changed = book.add(merge)
    assert set(changed) == {"s1", "s2"}
    assert [a.id for a, _ in book.story_members("s1")] == ["a", "b", "c"]
    closing = book.refresh("s2", _fake_summary, now=3.0)
    assert closing.merged_into == "s1" and closing.article_count == 0


def test_prepared_version_is_not_recorded_until_committed():
    book = StoryBook.in_memory()
    book.add(_assign("s1", _article("a")))
    first = book.prepare("s1", _fake_summary, now=1.0)
    again = book.prepare("s1", _fake_summary, now=2.0)
    assert first.version == again.version == 1
    book.commit(again)
    assert book.prepare("s1", _fake_summary, now=3.0) is None
    assert book.latest("s1").version == 1


def test_a_burst_is_refreshed_once_it_goes_quiet():
    schedule = RefreshSchedule({}, quiet=1.0, longest=10.0)
    for t in (0.0, 0.6, 1.2, 1.8):
        schedule.touch(0, "s-1", t, related=["s-2"])
        assert schedule.due(t + 0.5, {0}) == []
    assert schedule.due(2.9, {0}) == [(0, "s-1", ["s-2"])]
    schedule.done(0, "s-1")
    assert schedule.due(30.0, {0}) == []


def test_a_story_that_keeps_changing_is_refreshed_after_the_longest_wait():
    schedule = RefreshSchedule({}, quiet=1.0, longest=3.0)
    due_at = []
    for step in range(40):
        now = step * 0.5
        schedule.touch(1, "s-busy", now, related=[])
        if schedule.due(now, {1}):
            due_at.append(now)
            schedule.done(1, "s-busy")
    assert due_at == [3.0, 6.5, 10.0, 13.5, 17.0]


def test_only_the_workers_partitions_are_due_and_the_schedule_survives_a_restart():
    store: dict[str, bytes] = {}
    for partition, story in ((3, "s-a"), (4, "s-b")):
        schedule = RefreshSchedule(store, quiet=1.0, longest=10.0)
        schedule.touch(partition, story, 0.0, related=[])
        schedule.persist(partition)
    unpersisted = RefreshSchedule(store, quiet=1.0, longest=10.0)
    unpersisted.touch(3, "s-c", 0.0, related=[])  # its batch is read again after a crash
    recovered = RefreshSchedule(dict(store), quiet=1.0, longest=10.0)
    assert recovered.due(5.0, {3}) == [(3, "s-a", [])]
    assert recovered.due(5.0, {3, 4}) == [(3, "s-a", []), (4, "s-b", [])]


def test_a_new_story_published_within_its_batch_writes_no_pending_record():
    store: dict[str, bytes] = {}
    schedule = RefreshSchedule(store, quiet=1.0, longest=10.0, lead=True)
    schedule.touch(0, "s-new", 0.0, related=[])
    schedule.touch(0, "s-old", 0.0, related=[])
    schedule.done(0, "s-new", 0.0)  # the lead version went out at once
    assert schedule.staged_partitions() == {0}
    schedule.persist(0)
    assert list(store) == ["0\x1fs-old"] and not schedule.staged
    schedule.touch(0, "s-new", 0.5, related=[])  # a burst after the first version waits
    assert [story for _, story, _ in schedule.due(0.6, {0})] == ["s-old"]
    assert [story for _, story, _ in schedule.due(1.6, {0})] == ["s-new", "s-old"]


def _citing(*article_ids: str):
    """A summarizer that cites the given members, numbering them as the book says it must."""
    seen: list[dict[str, int]] = []

    def summary(story_id, members, *, version, previous, related, now, citations=None):
        seen.append(dict(citations or {}))
        numbers = dict(citations or {})
        for aid in article_ids:
            numbers.setdefault(aid, max(numbers.values(), default=0) + 1)
        update = _fake_summary(
            story_id, members, version=version, previous=previous, related=related, now=now
        )
        update.sources = [
            Source(n=numbers[a], article_id=a, outlet="a.example", title=a, url=None)
            for a in article_ids
        ]
        return update

    return summary, seen


def test_source_numbers_are_kept_in_the_book_and_survive_a_restart():
    book = StoryBook.in_memory()
    for aid in ("a", "b"):
        book.add(_assign("s1", _article(aid, f"text {aid}")))
    first, _ = _citing("b", "a")
    assert [(x.article_id, x.n) for x in book.refresh("s1", first, now=1.0).sources] == [
        ("b", 1), ("a", 2)]
    book.add(_assign("s1", _article("c", "text c")))
    # Version 2 no longer cites "b"; version 3 cites it again: it is still [1].
    second, _ = _citing("c", "a")
    assert {x.article_id: x.n for x in book.refresh("s1", second, now=2.0).sources} == {
        "c": 3, "a": 2}
    restarted = StoryBook(dict(book.members), dict(book.index), dict(book.meta))
    restarted.add(_assign("s1", _article("d", "text d")))
    third, seen = _citing("d", "b", "c")
    update = restarted.refresh("s1", third, now=3.0)
    assert seen == [{"b": 1, "a": 2, "c": 3}]
    assert {x.article_id: x.n for x in update.sources} == {"d": 4, "b": 1, "c": 3}


def test_records_written_before_the_numbering_derive_it_from_the_last_version():
    book = StoryBook.in_memory()
    book.add(_assign("s1", _article("a", "text a")))
    summary, _ = _citing("a")
    book.refresh("s1", summary, now=1.0)
    legacy = orjson.loads(book.meta["s1"])
    del legacy["citations"]
    book.meta["s1"] = orjson.dumps(legacy)
    assert book.citations("s1") == {"a": 1}
    book.add(_assign("s1", _article("b", "text b")))
    again, seen = _citing("b", "a")
    assert {x.article_id: x.n for x in book.refresh("s1", again, now=2.0).sources} == {
        "b": 2, "a": 1}
    assert seen == [{"a": 1}]


def test_the_story_summary_keeps_every_source_number_across_versions():
    texts = {
        "p1": "Harbor officials closed the Kessing bridge on Monday after divers found cracks "
        "in two of its piers.\nThe bridge carries 30,000 cars a day across the Lune estuary.",
        "p2": "The Kessing bridge over the Lune estuary was closed on Monday after divers found "
        "cracks in two piers.\nFerry operators added crossings for stranded commuters.",
        "p3": "Engineers said the cracked piers of the Kessing bridge need six months of "
        "repairs.\nThe Kessing bridge will stay closed to cars until the repairs are done, "
        "harbor officials said.",
        "p4": "Ferry crossings over the Lune estuary doubled after the Kessing bridge closed.\n"
        "Commuters waited up to an hour for the ferries on Tuesday morning.",
    }
    book = StoryBook.in_memory()
    summarize = summarize_story_with(SummaryConfig())
    numbers: dict[str, int] = {}
    for step, (aid, text) in enumerate(texts.items(), 1):
        book.add(_assign("s1", _article(aid, text, outlet=f"o{step}.example")))
        update = book.refresh("s1", summarize, now=float(step))
        current = {x.article_id: x.n for x in update.sources}
        assert len(set(current.values())) == len(current)
        assert all(current[a] == n for a, n in numbers.items() if a in current)
        numbers.update(current)
        cited = {n for sec in update.sections for n in sec.citations}
        assert cited <= set(current.values())
    assert len(numbers) >= 3


def test_with_lead_a_new_story_is_due_at_once_and_the_burst_after_it_once_quiet():
    schedule = RefreshSchedule({}, quiet=1.0, longest=10.0, lead=True)
    schedule.touch(0, "s-1", 0.0, related=[])
    assert schedule.due(0.0, {0}) == [(0, "s-1", [])]  # first version: no wait
    schedule.done(0, "s-1", 0.0)
    for t in (0.2, 0.5, 0.9):  # the burst that follows is gathered
        schedule.touch(0, "s-1", t, related=[])
        assert schedule.due(t, {0}) == []
    assert schedule.due(2.0, {0}) == [(0, "s-1", [])]
    schedule.done(0, "s-1", 2.0)
    schedule.touch(0, "s-1", 5.0, related=[])  # quiet for over a second: at once again
    assert schedule.due(5.0, {0}) == [(0, "s-1", [])]


def test_without_lead_even_a_new_story_waits_for_the_quiet_spell():
    schedule = RefreshSchedule({}, quiet=1.0, longest=10.0)
    schedule.touch(0, "s-1", 0.0, related=[])
    assert schedule.due(0.5, {0}) == []
    assert schedule.due(1.0, {0}) == [(0, "s-1", [])]


def test_a_member_written_before_a_crash_is_listed_when_its_assignment_comes_again():
    members: dict[str, bytes] = {}
    index: dict[str, bytes] = {}
    meta: dict[str, bytes] = {}
    book = StoryBook(members, index, meta)
    book.add(_assign("s1", _article("a1")))
    listed_before = dict(index)
    book.add(_assign("s1", _article("a2")))
    # The crash: the member record of a2 reached the table, its index entry did not.
    index.clear()
    index.update(listed_before)
    restarted = StoryBook(members, index, meta)
    restarted.add(_assign("s1", _article("a2")))  # the redelivered assignment
    assert [article.id for article, _ in restarted.story_members("s1")] == ["a1", "a2"]


class _Uncountable(dict):
    """A store that, like a disk-backed table, must not be counted key by key."""

    def __len__(self) -> int:
        raise AssertionError("the pending store was counted")


def test_publish_times_stay_bounded_without_counting_the_pending_store():
    schedule = RefreshSchedule(_Uncountable(), quiet=1.0, longest=10.0, lead=True)
    for n in range(5000):
        now = float(n)  # one new story a second: each is long quiet by the next prune
        schedule.touch(0, f"s-{n}", now, related=[])
        assert [story for _, story, _ in schedule.due(now, {0})] == [f"s-{n}"]
        schedule.done(0, f"s-{n}", now)
    assert len(schedule.published) <= 1025
    assert schedule.published[f"s-{4999}"] == 4999.0
