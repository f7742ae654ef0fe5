"""The assigner with a lookup: what is asleep leaves memory, and every answer stays the same."""

from __future__ import annotations

import dataclasses
import math

from pipeline.assignment.assigner import ClusterConfig, StoryAssigner
from schemas.records import Article, DedupVerdict, StoryAssignment

T0 = 1_700_000_000.0
DAY = 86400.0
TOWNS = ["Velmora", "Kingsport", "Tarsk", "Eastbrook", "Marrow", "Selwyn", "Harwick", "Olden"]
NAMES = ["Ada Quill", "Bram Tolle", "Cora Vant", "Dell Orrin", "Emil Sato", "Fenn Roe"]
KINDS = [
    "A fire destroyed a warehouse in {town} on Monday; {name} said nobody was hurt.",
    "Police in {town} arrested {name} after a shooting outside a bar left two men wounded.",
    "Floods cut the main road into {town}, and {name} led volunteers filling sandbags.",
]


def stream(n: int = 120) -> list[tuple[Article, DedupVerdict]]:
    """Same-kind events in a handful of towns over months, each told a few times, with copies."""
    out: list[tuple[Article, DedupVerdict]] = []
    for i in range(n):
        event = i // 3
        town = TOWNS[event % 8] + "abcdefghijklmnopqrstuvwxyz"[event % 26] + "ton"
        name = NAMES[event % 6] + "abcdefghijklmnopqrstuvwxyz"[event * 7 % 26] + "son"
        text = KINDS[event % 3].format(town=town.capitalize(), name=name)
        t = T0 + event * 2 * DAY + (i % 3) * 3600
        article = Article(
            id=f"a{i}",
            url=None,
            outlet=f"o{i % 5}",
            title="",
            text=text + f" Report {i % 3}.",
            lang="en",
            published=t,
        )
        out.append((article, DedupVerdict(article_id=article.id, kind="original")))
        if i % 7 == 0:  # a wire copy of it
            copy = dataclasses.replace(article, id=f"c{i}", outlet="wire")
            out.append((copy, DedupVerdict(copy.id, "syndicated", duplicate_of=article.id)))
    return out


def config() -> ClusterConfig:
    return ClusterConfig(
        dormant_after_seconds=5 * DAY,
        max_clock_step=math.inf,
        recall_seconds=60 * DAY,
        split_sizes=(4, 8),
    )


def write(assigner: StoryAssigner, table: dict | None) -> None:
    """Drain the assigner's records into ``table`` (if any), as the worker's flush does."""
    for key, value in assigner.drain_changes():
        if table is not None:
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value


def replay(
    assigner: StoryAssigner,
    items: list[tuple[Article, DedupVerdict]],
    table: dict | None = None,
    every: int = 5,
) -> list[StoryAssignment]:
    """The answers to ``items``, the records drained after every ``every`` articles."""
    answers = []
    for n, (article, verdict) in enumerate(items, 1):
        answers.append(assigner.assign(article, verdict, delivery=f"d{article.id}"))
        if n % every == 0:
            write(assigner, table)
    return answers


def test_with_a_lookup_answers_are_the_same_and_memory_holds_the_live_window() -> None:
    items = stream()
    plain = StoryAssigner(config())
    table: dict[str, bytes] = {}
    bounded = StoryAssigner(config(), lookup=table.get)
    expected = replay(plain, items)
    assert replay(bounded, items, table) == expected
    assert len({a.story_id for a in expected}) > 20
    assert len(bounded._stories) < len(plain._stories) / 3
    assert len(bounded._article_story) < len(plain._article_story) / 3
    assert len(bounded._member_docs) < len(plain._member_docs) / 3
    # late copies and lookups of long-asleep articles still find their stories
    for article, _ in items:
        assert bounded.story_of(article.id) == plain.story_of(article.id)
        assert bounded.related(bounded.story_of(article.id)) == plain.related(
            plain.story_of(article.id)
        )


def test_a_restart_with_a_lookup_holds_only_what_is_live_and_goes_on_as_before() -> None:
    items = stream()
    half = len(items) // 2
    uninterrupted = StoryAssigner(config())
    expected = replay(uninterrupted, items)
    table: dict[str, bytes] = {}
    first = StoryAssigner(config(), lookup=table.get)
    replay(first, items[:half], table)
    write(first, table)
    restarted = StoryAssigner(config(), lookup=table.get)
    restarted.restore(table.items())
    assert len(restarted._stories) < sum(k.startswith("s:") for k in table) / 3
    assert restarted._article_story == {}
    assert replay(restarted, items[half:], table) == expected[half:]


def test_with_a_lookup_a_split_moves_the_same_articles_and_copies() -> None:
    from tests.unit.assignment.test_splits import two_events

    items: list[tuple[Article, DedupVerdict]] = []
    for article in two_events():
        items.append((article, DedupVerdict(article_id=article.id, kind="original")))
        if article.id == "p0":  # a copy of a strike report, and a copy of that copy
            copy = dataclasses.replace(article, id="p0c", outlet="wire")
            items.append((copy, DedupVerdict("p0c", "syndicated", duplicate_of="p0")))
            again = dataclasses.replace(article, id="p0cc", outlet="wire2")
            items.append((again, DedupVerdict("p0cc", "syndicated", duplicate_of="p0c")))
    cfg = ClusterConfig(join_probability=0.0, split_sizes=(6, 12))
    expected = replay(StoryAssigner(cfg), items)
    splits = [a.split for a in expected if a.split is not None]
    assert len(splits) == 1 and set(splits[0].article_ids) >= {"p0", "p0c", "p0cc"}
    for every in (1, 2, 5):
        table: dict[str, bytes] = {}
        bounded = StoryAssigner(cfg, lookup=table.get)
        assert replay(bounded, items, table, every) == expected
