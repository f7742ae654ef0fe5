"""The story book: membership, revisions, resends, merges, versions and idempotence."""

from __future__ import annotations

from pipeline.summaries.book import RefreshSchedule, StoryBook
from schemas import Article, DedupVerdict, StoryAssignment, StoryUpdate


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


def _fake_summary(story_id, members, *, version, previous, related, now) -> StoryUpdate:
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
    RefreshSchedule(store, quiet=1.0, longest=10.0).touch(3, "s-a", 0.0, related=[])
    RefreshSchedule(store, quiet=1.0, longest=10.0).touch(4, "s-b", 0.0, related=[])
    recovered = RefreshSchedule(dict(store), quiet=1.0, longest=10.0)
    assert recovered.due(5.0, {3}) == [(3, "s-a", [])]
    assert recovered.due(5.0, {3, 4}) == [(3, "s-a", []), (4, "s-b", [])]
