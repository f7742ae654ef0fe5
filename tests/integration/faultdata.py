"""Inputs for the fault tests and the hostile-input benchmark: synthetic stories, hostile bytes.

:func:`story_articles` builds distinct raw articles about a handful of invented events, each
with its own names, places and vocabulary, so that a correct worker puts every event in one
story. :func:`hostile_messages` builds the malformed messages a worker must dead-letter, for
each topic it consumes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from schemas import (
    ARTICLES_DEDUPED,
    ARTICLES_NORMALIZED,
    ARTICLES_RAW,
    DEDUP_BANDS,
    DEDUP_MATCHES,
    STORIES_ASSIGNMENTS,
)


@dataclass(frozen=True)
class Event:
    """An invented news event: who, where, what, and the words its coverage uses."""

    slug: str
    headline: str
    people: tuple[str, ...]
    places: tuple[str, ...]
    things: tuple[str, ...]
    actions: tuple[str, ...]
    numbers: tuple[str, ...]


EVENTS = (
    Event(
        "quarry-collapse",
        "Quarry wall collapse traps workers near Brenholt",
        ("Ilse Marwick", "Tobias Vangrell", "Dana Okafor"),
        ("Brenholt", "Saxby Quarry", "Lowmere Valley"),
        ("limestone face", "rescue shaft", "excavator crews", "rock slide", "mine inspectors"),
        ("trapped", "drilled", "reinforced", "evacuated", "surveyed"),
        ("seven miners", "forty metres", "three shifts"),
    ),
    Event(
        "orchestra-strike",
        "Veldmark Philharmonic musicians walk out over pay",
        ("Clara Oyelaran", "Mattias Froehne", "Renata Dulcey"),
        ("Veldmark", "Aurelian Concert Hall", "Kessler Square"),
        ("musicians union", "season tickets", "wage offer", "picket line", "cancelled concerts"),
        ("rehearsed", "negotiated", "refunded", "picketed", "balloted"),
        ("ninety-two players", "four percent raise", "twelve concerts"),
    ),
    Event(
        "comet-sighting",
        "Amateur astronomers spot bright comet over Tarrow Ridge",
        ("Yusuf Albrecht", "Priya Hollenbeck", "Sven Castellano"),
        ("Tarrow Ridge", "Corwen Observatory", "Halden Plateau"),
        ("comet tail", "telescope mirrors", "orbital path", "night sky", "photographs"),
        ("observed", "photographed", "calculated", "tracked", "catalogued"),
        ("magnitude four", "eleven nights", "two tails"),
    ),
    Event(
        "ferry-grounding",
        "Ferry Maribel Star runs aground off Quillan Point",
        ("Captain Hector Lindqvist", "Amara Nwosu", "Felix Drummond"),
        ("Quillan Point", "Rosswick Harbour", "Tern Sound"),
        ("ferry hull", "coast guard tugs", "passengers", "fuel leak", "sandbank"),
        ("grounded", "towed", "rescued", "inspected", "refloated"),
        ("three hundred passengers", "low tide", "two tugboats"),
    ),
    Event(
        "bakery-recall",
        "Hollis Bakeries recalls rye loaves over glass fragments",
        ("Greta Pohlmann", "Owen Castaneda", "Lucia Ferrandis"),
        ("Hollis Bakeries", "Dunmere plant", "Eastvale stores"),
        ("rye loaves", "glass fragments", "food safety agency", "batch codes", "refunds"),
        ("recalled", "tested", "withdrew", "traced", "warned"),
        ("forty thousand loaves", "six batches", "two complaints"),
    ),
    Event(
        "chess-prodigy",
        "Eleven-year-old Nadia Sorensky wins Kelbourne chess open",
        ("Nadia Sorensky", "Viktor Amberley", "Joon Halvorsen"),
        ("Kelbourne", "Marlow Chess Club", "Gantry Hall"),
        ("chess open", "grandmaster title", "endgame", "rook sacrifice", "tournament prize"),
        ("defeated", "sacrificed", "checkmated", "drew", "analysed"),
        ("nine rounds", "eleven-year-old", "seven wins"),
    ),
    Event(
        "bridge-closure",
        "Corrosion shuts Pellingham suspension bridge",
        ("Mayor Ruth Abernathy", "Engineer Kofi Mensah", "Isobel Tranter"),
        ("Pellingham", "Arden River", "Northgate ferry"),
        ("suspension cables", "corrosion survey", "detour routes", "steel anchors", "traffic"),
        ("closed", "inspected", "rerouted", "repaired", "shut"),
        ("eighteen months", "two cables", "thirty thousand drivers"),
    ),
    Event(
        "wolf-return",
        "Grey wolves return to the Skellan Forest after a century",
        ("Dr Mirela Kovach", "Ranger Paul Ashdown", "Hanne Solberg"),
        ("Skellan Forest", "Fenwick Moor", "Ostry Valley"),
        ("wolf pack", "camera traps", "sheep farmers", "paw prints", "den site"),
        ("sighted", "collared", "tracked", "photographed", "protected"),
        ("five wolves", "one hundred years", "two pups"),
    ),
)

OPENERS = (
    "{person} said {thing} near {place} were {action} on {day}.",
    "In {place}, {person} told reporters that {number} had been {action}.",
    "Officials in {place} confirmed the {thing} was {action} after {number}.",
    "{person} described how the {thing} at {place} was {action} overnight.",
    "According to {person}, {number} were {action} close to {place}.",
)
DETAILS = (
    "The {thing} drew attention from residents of {place}.",
    "{person} added that the {thing} would be {action} again soon.",
    "Local outlets in {place} reported {number} so far.",
    "Witnesses near {place} said the {thing} had been {action} twice.",
    "A statement from {person} mentioned the {thing} and {number}.",
    "Questions remained about the {thing} and whether it was {action} in time.",
    "{person} thanked the people of {place} for their patience.",
    "Records show the {thing} in {place} was last {action} years ago.",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _sentence(template: str, event: Event, rng: random.Random) -> str:
    return template.format(
        person=rng.choice(event.people),
        place=rng.choice(event.places),
        thing=rng.choice(event.things),
        action=rng.choice(event.actions),
        number=rng.choice(event.numbers),
        day=rng.choice(DAYS),
    )


def _article(event: Event, n: int, when: datetime, rng: random.Random) -> dict:
    outlet = f"{rng.choice(('daily', 'courier', 'herald', 'gazette', 'post'))}{n}.example"
    opener = _sentence(rng.choice(OPENERS), event, rng)
    details = [_sentence(t, event, rng) for t in rng.sample(DETAILS, 5)]
    paragraphs = [f"{event.headline}. {opener}", " ".join(details[:3]), " ".join(details[3:])]
    return {
        "id": f"{event.slug}-{n:03d}",
        "url": f"https://{outlet}/news/{event.slug}/{n}",
        "outlet": outlet,
        "title": f"{event.headline} ({rng.choice(event.places)}, {rng.choice(DAYS)})",
        "text": "\n".join(paragraphs),
        "published": when.isoformat(),
    }


def story_articles(count: int, events: int = len(EVENTS), seed: int = 7) -> list[dict]:
    """``count`` raw articles spread round-robin over ``events`` invented events.

    Published times grow in list order (a minute apart); every article has its own id, url,
    outlet and wording, so none is a resend or revision of another.
    """
    rng = random.Random(seed)
    return [
        _article(EVENTS[i % events], i, START + timedelta(minutes=i), rng) for i in range(count)
    ]


def event_of(article_id: str) -> str:
    """The event slug of an article built by :func:`story_articles`."""
    return article_id.rsplit("-", 1)[0]


# ---------------------------------------------------------------- hostile messages

INPUT_TOPICS = (
    ARTICLES_RAW,
    ARTICLES_NORMALIZED,
    DEDUP_BANDS,
    DEDUP_MATCHES,
    ARTICLES_DEDUPED,
    STORIES_ASSIGNMENTS,
)
BAND_TOPICS = (DEDUP_BANDS, DEDUP_MATCHES)


def input_topics(dedup_partitions: int) -> tuple[str, ...]:
    """The topics a worker reads: the band topics only with several dedup partitions."""
    if dedup_partitions > 1:
        return INPUT_TOPICS
    return tuple(t for t in INPUT_TOPICS if t not in BAND_TOPICS)


HUGE = 2_100_000  # over the raw body limit (STORYSTREAM_MAX_BODY_BYTES, 2,000,000)


def _nested(depth: int) -> bytes:
    return b'{"id":' * depth + b"1" + b"}" * depth


def _valid_shape(topic: str, rng: random.Random) -> dict:
    """A plausible record for ``topic`` that the hostile variants then damage."""
    if topic == ARTICLES_RAW:
        return {"id": f"h{rng.randrange(10**9)}", "url": "https://x.example/a", "text": "Hi."}
    if topic in (DEDUP_BANDS, DEDUP_MATCHES):
        return {"type": "probe", "article_id": "x", "home": 0, "keys": [1, 2]}
    return {"story_id": "s-1", "article": {"id": "a"}, "verdict": {"kind": "original"}}


def _hostile(topic: str, kind: int, rng: random.Random) -> bytes:
    """One hostile value for ``topic``; ``kind`` picks the damage."""
    shape = orjson.dumps(_valid_shape(topic, rng))
    choices = (
        lambda: b"[1, 2, 3]",  # not an object
        lambda: b'"just a string"',
        lambda: b"42",
        lambda: b"null",
        lambda: shape[: rng.randrange(1, len(shape) - 1)],  # truncated JSON
        lambda: b'{"id": "\xff\xfe bad", "text": "\xc3\x28"}',  # invalid UTF-8
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))),  # binary
        lambda: b"",  # empty
        lambda: _nested(600) if topic != ARTICLES_RAW else b"[" * 5000 + b"]" * 5000,
        lambda: orjson.dumps({"id": 7, "url": ["not", "a", "url"], "text": {"a": 1}}),
        lambda: orjson.dumps({"type": "probe", "text": 5}),  # wrong record shape
        lambda: orjson.dumps({"story_id": None, "article": [], "verdict": "x"}),
    )
    if kind < 0:  # a huge field
        return orjson.dumps({"id": "huge", "url": "https://x.example/h", "text": "x" * HUGE})
    return choices[kind % len(choices)]()


def hostile_messages(
    total: int, seed: int = 11, huge: int = 2, topics: tuple[str, ...] = INPUT_TOPICS
) -> list[tuple[str, bytes]]:
    """``total`` (topic, value) pairs spread over ``topics`` (every input topic), shuffled.

    ``huge`` of them (on ``articles.raw``) carry a body over the size limit.
    """
    rng = random.Random(seed)
    out = [(ARTICLES_RAW, _hostile(ARTICLES_RAW, -1, rng)) for _ in range(huge)]
    i = 0
    while len(out) < total:
        topic = topics[i % len(topics)]
        out.append((topic, _hostile(topic, i // len(topics), rng)))
        i += 1
    rng.shuffle(out)
    return out
