"""Band-partitioned dedup (homes and band owners) gives the same verdicts as one Deduplicator."""

from __future__ import annotations

import random
from collections import deque

import numpy as np
import pytest

from pipeline.common.text import stable_hash
from pipeline.dedup.bands import (
    BandOwner,
    DedupHome,
    band_owner,
    decode_signature,
    encode_signature,
    probe_routes,
    verdict_from_matches,
)
from pipeline.dedup.index import DedupConfig, Deduplicator
from pipeline.dedup.minhash import band_keys, signatures
from schemas.bands import BandAnswer, BandProbe, BandWatermark, decode_band_message
from schemas.records import Article
from tests.unit.dedup.test_dedup import art, edit_words, make_text

CFG = DedupConfig()


def _stream(seed: int) -> list[Article]:
    """Originals, copies, copies of copies, resends, revisions and short notes, shuffled."""
    rng = random.Random(seed)
    bases = [make_text(1000 + i) for i in range(12)]
    items: list[Article] = []
    for i, text in enumerate(bases):
        url = f"https://home{i % 3}.example/{i}"
        items.append(art(f"o{i}", text, url))
        for k in range(rng.randint(0, 3)):
            variant = text if rng.random() < 0.5 else edit_words(text, 0.08, seed=i * 10 + k)
            items.append(art(f"c{i}-{k}", variant, f"https://copy.example/{i}/{k}"))
    items.append(art("short", "Three words only.", "https://notes.example/1"))
    rng.shuffle(items)
    # Resends and revisions come after the article they repeat.
    for i in range(0, 12, 4):
        text = bases[i]
        items.append(art(f"o{i}", text, f"https://home{i % 3}.example/{i}"))
        revised = text + "\n" + make_text(77 + i, paragraphs=1)
        items.append(art(f"o{i}", revised, f"https://home{i % 3}.example/{i}"))
        items.append(art(f"late-copy{i}", revised, f"https://late.example/{i}"))
        # An id that looks like a revision's: revisions are kept apart from real articles.
        items.append(art(f"o{i}~1", edit_words(text, 0.05, seed=i), f"https://other.example/{i}"))
    return items


class Network:
    """Homes and band owners joined by per-sender FIFO queues, delivered in random order."""

    def __init__(self, homes: int, owners: int, rng: random.Random, crashes: bool = False) -> None:
        self.rng = rng
        self.crashes = crashes
        self.stored: dict[tuple[str, int], dict[str, bytes]] = {}
        self.homes = [DedupHome(h, owners, CFG) for h in range(homes)]
        self.owners = [BandOwner(o, homes, CFG, root_wait_seconds=1e12) for o in range(owners)]
        # bands[o][h]: messages from home h to owner o; matches[h][o]: answers from o to h.
        self.bands = [[deque() for _ in range(homes)] for _ in range(owners)]
        self.matches = [[deque() for _ in range(owners)] for _ in range(homes)]
        self.inbox = [deque() for _ in range(homes)]
        self.clock = 0.0
        self.verdicts: dict[str, object] = {}
        self.received: list[str] = []

    def home_of(self, a: Article) -> int:
        return int(stable_hash(a.url or a.id), 16) % len(self.homes)

    def route(self, h: int, probes: list) -> None:
        for owner, probe in probes:
            # Through the wire format, as on the topic.
            self.bands[owner][h].append(decode_band_message(probe.to_json()))
            if self.rng.random() < 0.1:  # at-least-once: sometimes delivered twice
                self.bands[owner][h].append(decode_band_message(probe.to_json()))

    def step(self) -> bool:
        """One random action; False when nothing is left to do."""
        actions = []
        for h, q in enumerate(self.inbox):
            if q:
                actions.append(("article", h))
        for h in range(len(self.homes)):
            if all(len(self.bands[o][h]) < 4 for o in range(len(self.owners))):
                actions.append(("watermark", h))  # as a timer: not faster than owners read
            if any(self.matches[h]):
                actions.append(("answer", h))
        for o in range(len(self.owners)):
            if any(self.bands[o]):
                actions.append(("band", o))
        if not any(self.inbox) and not any(h.pending for h in self.homes):
            return False
        kind, n = self.rng.choice(actions)
        self.clock += 1.0
        if self.crashes and self.rng.random() < 0.03:
            self.restart()
        if kind == "article":
            article, delivery = self.inbox[n].popleft()
            s = signatures([article.text], CFG.num_perm, CFG.seed, CFG.shingle)
            keys = band_keys(s.values, CFG.bands, CFG.rows)[0]
            step = self.homes[n].receive(
                article, delivery, s.values[0], int(s.sizes[0]), keys, self.clock
            )
            self.received.append(delivery)
            if step.verdict is not None:
                self.verdicts[delivery] = step.verdict
            self.route(n, step.probes)
            self.homes[n].sent_all()
        elif kind == "watermark":
            mark = self.homes[n].watermark(self.clock)
            for o in range(len(self.owners)):
                self.bands[o][n].append(mark)
        elif kind == "band":
            queues = [q for q in self.bands[n] if q]
            owner = self.owners[n]
            owner.receive(self.rng.choice(queues).popleft())
            for answer in owner.advance(self.clock):
                self.matches[answer.home][n].append(answer)
        else:
            queues = [q for q in self.matches[n] if q]
            decided = self.homes[n].answer(self.rng.choice(queues).popleft())
            if decided is not None:
                self.verdicts[decided.delivery] = decided.verdict
                for o, decision in decided.decisions:
                    self.bands[o][n].append(decision)
        self.save()
        return True

    def save(self) -> None:
        """Write every node's state changes to its table, as the agents do per event."""
        for role, nodes in (("home", self.homes), ("owner", self.owners)):
            for i, node in enumerate(nodes):
                table = self.stored.setdefault((role, i), {})
                for key, value in node.drain_changes():
                    if value is None:
                        table.pop(key, None)
                    else:
                        table[key] = value

    def restart(self) -> None:
        """A worker dies: one node is rebuilt from its table; messages stay on the topics."""
        self.save()
        if self.rng.random() < 0.5:
            h = self.rng.randrange(len(self.homes))
            home = DedupHome(h, len(self.owners), CFG)
            home.restore(self.stored.get(("home", h), {}).items())
            self.homes[h] = home
        else:
            o = self.rng.randrange(len(self.owners))
            owner = BandOwner(o, len(self.homes), CFG, root_wait_seconds=1e12)
            owner.restore(self.stored.get(("owner", o), {}).items())
            self.owners[o] = owner


@pytest.mark.parametrize(
    ("homes", "owners", "seed", "crashes"),
    [(1, 1, 0, False), (3, 3, 1, False), (2, 5, 2, False), (4, 4, 3, False), (3, 3, 4, True),
     (4, 2, 5, True), (2, 2, 6, True)],
)
def test_partitioned_verdicts_equal_single_worker(
    homes: int, owners: int, seed: int, crashes: bool
) -> None:
    items = _stream(seed)
    net = Network(homes, owners, random.Random(seed), crashes)
    for n, a in enumerate(items):
        net.inbox[net.home_of(a)].append((a, f"articles/{n}"))
    steps = 0
    while net.step():
        steps += 1
        assert steps < 200_000, "the protocol stalled"
    # The single worker sees the articles in the order the homes received them.
    by_delivery = {f"articles/{n}": a for n, a in enumerate(items)}
    single = Deduplicator(CFG)
    expected = {d: single.check(by_delivery[d]) for d in net.received}
    assert {v.kind for v in expected.values()} >= {
        "original", "syndicated", "light_edit", "resend", "revision",
    }
    assert set(net.verdicts) == set(expected)
    for d, e in expected.items():
        g = net.verdicts[d]
        assert (g.article_id, g.kind, g.duplicate_of) == (e.article_id, e.kind, e.duplicate_of), d
        if e.kind != "original":  # (an original's similarity is its nearest non-copy here)
            assert g.similarity == e.similarity
    assert not any(h.pending for h in net.homes)


def test_band_owner_spreads_and_routes_every_band() -> None:
    keys = band_keys(signatures([make_text(1), make_text(2)]).values, 42, 3)
    owners = band_owner(keys, 4)
    assert owners.shape == (2, 42)
    assert set(owners.reshape(-1).tolist()) == {0, 1, 2, 3}
    routes = probe_routes(keys[0], 4)
    assert sorted(b for bands in routes.values() for b in bands) == list(range(42))
    assert all(owners[0, b] == p for p, bands in routes.items() for b in bands)


def _probe(aid: str, text: str, order: float, home: int = 0, published: float = 10.0) -> BandProbe:
    s = signatures([text])
    keys = band_keys(s.values, CFG.bands, CFG.rows)[0]
    return BandProbe(
        aid, home, order, published, int(s.sizes[0]), encode_signature(s.values[0]),
        [int(k) for k in keys],
    )


def test_wire_form_keeps_signature_and_64_bit_keys() -> None:
    probe = _probe("a", make_text(3), 1.5)
    back = decode_band_message(probe.to_json())
    assert back == probe
    assert max(back.keys) > 2**63 or min(back.keys) >= 0
    s = signatures([make_text(3)])
    assert np.array_equal(decode_signature(back.signature), s.values[0])
    mark = decode_band_message(BandWatermark(2, 7.0).to_json())
    assert isinstance(mark, BandWatermark) and mark.order == 7.0


def test_owner_waits_for_every_home_and_answers_in_order() -> None:
    text = make_text(5)
    owner = BandOwner(0, homes=2, config=CFG)
    owner.receive(_probe("b", text, 2.0, home=1))
    owner.receive(_probe("a", text, 1.0, home=0))
    owner.receive(BandWatermark(0, 5.0))
    assert owner.advance(0.0) == []  # home 1 has not said how far it got
    assert owner.waiting(31.0, 30.0) == (2, [1])  # home 1 holds both back
    owner.receive(BandWatermark(1, 1.5))
    first = owner.advance(0.0)
    assert [(a.article_id, a.matches) for a in first] == [("a", [])]
    owner.receive(BandWatermark(1, 3.0))
    assert owner.advance(0.0) == []  # "b" matches "a", whose root is not known yet
    owner.receive(decode_band_message(b'{"type": "decision", "article_id": "a", "root": "a"}'))
    (answer,) = owner.advance(0.0)
    assert (answer.article_id, answer.home, answer.owner) == ("b", 1, 0)
    assert [(m.candidate_id, m.root, m.jaccard) for m in answer.matches] == [("a", "a", 1.0)]


def test_owner_answers_without_a_root_after_the_wait_bound() -> None:
    text = make_text(6)
    owner = BandOwner(0, homes=1, config=CFG, root_wait_seconds=5.0)
    owner.offer(_probe("a", text, 1.0))
    owner.offer(_probe("b", text, 2.0))
    owner.mark(0, 3.0)
    assert [a.article_id for a in owner.advance(100.0)] == ["a"]
    assert owner.advance(104.0) == []
    (late,) = owner.advance(105.5)
    assert late.matches[0].root is None
    verdict = verdict_from_matches("b", late.matches, CFG)
    assert (verdict.kind, verdict.duplicate_of) == ("syndicated", "a")


def test_owner_expires_answered_probes_and_redelivery_answers_again() -> None:
    cfg = DedupConfig(window_seconds=100.0)
    owner = BandOwner(0, homes=1, config=cfg)
    owner.offer(_probe("a", make_text(7), 1.0, published=10.0))
    owner.offer(_probe("b", make_text(8), 2.0, published=50.0))
    owner.mark(0, 2.0)
    assert len(owner.advance(0.0)) == 2
    owner.offer(_probe("b", make_text(8), 2.0, published=50.0))  # redelivered
    assert [a.article_id for a in owner.advance(0.0)] == ["b"]
    assert owner.expire(115.0) == 1
    assert len(owner) == 1
    restored = BandOwner(0, homes=1, config=cfg)
    restored.restore(owner.drain_changes())
    assert len(restored) == 1 and restored.watermark == 2.0


def test_home_orders_and_watermark_hold_back_for_unsent_probes() -> None:
    home = DedupHome(0, partitions=3, config=CFG)
    text = make_text(9)
    s = signatures([text])
    keys = band_keys(s.values, CFG.bands, CFG.rows)[0]
    step = home.receive(art("x", text, "https://a.example/x"), "d1", s.values[0],
                        int(s.sizes[0]), keys, now=100.0)
    assert step.verdict is None and {o for o, _ in step.probes} == set(probe_routes(keys, 3))
    order = step.probes[0][1].order
    assert home.watermark(200.0).order < order  # probes not handed to the producer yet
    home.sent_all()
    assert home.watermark(200.0).order == 200.0
    assert home.next_order(150.0) > 200.0  # never behind a watermark already given
    again = home.receive(art("x", text, "https://a.example/x"), "d2", s.values[0],
                         int(s.sizes[0]), keys, now=300.0)
    assert again.verdict is not None and again.verdict.kind == "resend"
    owners = [o for o, _ in step.probes]
    for owner in owners[:-1]:
        assert home.answer(BandAnswer("x", owner, 0, [])) is None
    assert home.answer(BandAnswer("x", owners[0], 0, [])) is None  # redelivered answer
    decided = home.answer(BandAnswer("x", owners[-1], 0, []))
    assert decided is not None and decided.verdict.kind == "original"
    assert sorted(o for o, d in decided.decisions if d.root == "x") == owners
    assert home.pending == 0


def test_home_expires_an_article_that_was_still_pending_when_its_time_came() -> None:
    cfg = DedupConfig(window_seconds=100.0)
    home = DedupHome(0, partitions=1, config=cfg)
    text = make_text(10)
    s = signatures([text])
    keys = band_keys(s.values, cfg.bands, cfg.rows)[0]
    late = art("late", text, "https://a.example/late")
    late.published = 10.0
    step = home.receive(late, "d1", s.values[0], int(s.sizes[0]), keys, now=100.0)
    assert step.verdict is None and home.pending == 1
    assert home.expire(500.0) == 0  # still being decided: kept
    assert home.answer(BandAnswer("late", 0, 0, [])) is not None
    assert home.expire(500.0) == 1  # decided, and older than the window
    assert len(home) == 0


def test_a_band_owner_records_a_moving_watermark_about_once_a_second():
    owner = BandOwner(0, 1, CFG)
    table: dict[str, bytes] = {}
    writes = 0
    for tick in range(50):  # ten ticks a second for five seconds
        owner.receive(BandWatermark(0, 1000.0 + tick / 10))
        for key, value in owner.drain_changes():
            writes += key == "w/0"
            if value is not None:
                table[key] = value
    assert 5 <= writes <= 6
    restored = BandOwner(0, 1, CFG)
    restored.restore(table.items())
    assert 1004.0 <= restored.watermark <= 1004.9  # older than the last tick, never ahead
    restored.receive(BandWatermark(0, 1005.0))
    assert restored.watermark == 1005.0
