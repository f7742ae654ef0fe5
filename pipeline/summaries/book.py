"""The story book: each story's current articles and versions, kept in plain key/value stores."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipeline.common.jsonbytes import json_bytes
from pipeline.common.text import stable_hash
from schemas import Article, DedupVerdict, RelatedStory, StoryAssignment, StoryUpdate

Member = tuple[Article, DedupVerdict]
# Called as summarize(story_id, members, *, version, previous, related, now, citations).
Summarizer = Callable[..., StoryUpdate]

_SEP = "\x1f"


def member_key(article: Article, verdict: DedupVerdict) -> str:
    """The key of the story member an article is (resends and revisions map to the earlier one)."""
    if verdict.kind in ("resend", "revision"):
        return verdict.replaces or verdict.duplicate_of or article.id
    return article.id


@dataclass
class StoryBook:
    """Members, order and versions of every story, over any mutable mappings.

    The engine passes dicts; the summarize agent passes changelogged faust tables, so the same
    code keeps the state in both. Values are orjson bytes.

    Args:
        members: ``story_id + "\\x1f" + member key`` -> ``{"article", "verdict"}``.
        index: ``story_id`` -> list of member keys in arrival order.
        meta: ``story_id`` -> ``{"version", "fingerprint", "last", "merged_into",
            "citations"}``; ``citations`` maps every article the story ever cited to its
            source number [n], in order of first citation, so a source keeps its number in
            every later version, across restarts (records written before it existed derive
            it from the last version's sources).
    """

    members: MutableMapping[str, bytes]
    index: MutableMapping[str, bytes]
    meta: MutableMapping[str, bytes]

    @classmethod
    def in_memory(cls) -> StoryBook:
        return cls({}, {}, {})

    def _keys(self, story_id: str) -> list[str]:
        raw = self.index.get(story_id)
        return orjson.loads(raw) if raw else []

    def _meta(self, story_id: str) -> dict:
        raw = self.meta.get(story_id)
        return orjson.loads(raw) if raw else {}

    def add(self, assignment: StoryAssignment) -> list[str]:
        """Apply one assignment; return the ids of the stories whose content changed.

        A resend of a known member changes nothing; a revision replaces the member it revises
        (the member keeps its key, so the count stays); absorbed stories (``merged_from``) move
        their members into the surviving story; a split moves the listed members to the new
        story. Applying the same assignment twice changes nothing the second time.
        """
        story_id = assignment.story_id
        changed: list[str] = []
        split = assignment.split
        if split is not None and self._move(split.story_id, split.new_story_id, split.article_ids):
            changed.extend((split.story_id, split.new_story_id))
        for absorbed in assignment.merged_from:
            if absorbed == story_id:
                continue
            if self._move(absorbed, story_id):
                meta = self._meta(absorbed)
                meta["merged_into"] = story_id
                self.meta[absorbed] = json_bytes(meta)
                changed.append(absorbed)
        keys = self._keys(story_id)
        article, verdict = assignment.article, assignment.verdict
        key = member_key(article, verdict)
        existing = self.members.get(story_id + _SEP + key)
        if verdict.kind == "resend" and existing is not None:
            pass
        else:
            if verdict.kind == "revision" and existing is not None:
                earlier_verdict = DedupVerdict.from_dict(orjson.loads(existing)["verdict"])
                article = _with_id(article, key)
                verdict = earlier_verdict
            elif verdict.kind in ("resend", "revision"):
                # The earlier version is unknown here (first delivery lost): keep it as new.
                article = _with_id(article, key)
                verdict = DedupVerdict(article_id=key, kind="original")
            value = json_bytes({"article": article, "verdict": verdict})
            if value != existing:
                self.members[story_id + _SEP + key] = value
        # The member record exists now. Its index entry may not, when a crash came between
        # the two writes and this is the redelivery: the member is listed either way.
        if key not in keys:
            keys.append(key)
        if changed or keys != self._keys(story_id):
            self.index[story_id] = json_bytes(keys)
        if self.fingerprint(story_id) != self._meta(story_id).get("fingerprint"):
            changed.append(story_id)
        return changed

    def _move(self, source: str, target: str, only: Sequence[str] | None = None) -> bool:
        """Move the members of ``source`` (those keyed in ``only``, else all) to ``target``.

        Returns whether any member moved; moving them again changes nothing.
        """
        source_keys = self._keys(source)
        wanted = set(source_keys if only is None else only)
        moving = [key for key in source_keys if key in wanted]
        if not moving:
            return False
        target_keys = self._keys(target)
        for key in moving:
            value = self.members.pop(source + _SEP + key, None)
            if value is not None and key not in target_keys:
                self.members[target + _SEP + key] = value
                target_keys.append(key)
        self.index[target] = json_bytes(target_keys)
        self.index[source] = json_bytes([key for key in source_keys if key not in wanted])
        return True

    def story_members(self, story_id: str) -> list[Member]:
        """The story's current members in arrival order."""
        out: list[Member] = []
        for key in self._keys(story_id):
            raw = self.members.get(story_id + _SEP + key)
            if raw is None:
                continue
            data = orjson.loads(raw)
            out.append(
                (Article.from_dict(data["article"]), DedupVerdict.from_dict(data["verdict"]))
            )
        return out

    def fingerprint(self, story_id: str) -> str:
        """A digest of the story's member keys and their content."""
        parts = [story_id]
        for key in self._keys(story_id):
            raw = self.members.get(story_id + _SEP + key)
            parts.append(stable_hash(key, raw.decode("utf-8") if raw else ""))
        return stable_hash(*parts)

    def latest(self, story_id: str) -> StoryUpdate | None:
        """The last published update of a story."""
        last = self._meta(story_id).get("last")
        return StoryUpdate.from_dict(last) if last else None

    def related_stories(self, story_ids: Sequence[str]) -> list[RelatedStory]:
        """Related stories with their latest headline and count (members, before a version)."""
        related = []
        for other in story_ids:
            latest = self.latest(other)
            related.append(
                RelatedStory(
                    story_id=other,
                    headline=latest.headline if latest else "",
                    article_count=latest.article_count
                    if latest
                    else len(self.story_members(other)),
                )
            )
        return related

    def refresh(
        self,
        story_id: str,
        summarize: Summarizer,
        *,
        now: float,
        related: Sequence[RelatedStory] = (),
    ) -> StoryUpdate | None:
        """Summarize the story if it changed since its last version and record the version.

        Returns None when nothing changed: a refresh of unchanged content (a redelivered batch,
        a resend) publishes nothing, so processing twice equals once.
        """
        update = self.prepare(story_id, summarize, now=now, related=related)
        if update is not None:
            self.commit(update)
        return update

    def prepare(
        self,
        story_id: str,
        summarize: Summarizer,
        *,
        now: float,
        related: Sequence[RelatedStory] = (),
    ) -> StoryUpdate | None:
        """The story's next version, without recording it (see :meth:`commit`).

        Until the version is committed, preparing again yields the same version number, so a
        publisher that commits only after the broker acknowledged the update never skips a
        version when it crashes in between; at worst it publishes the same version twice.
        """
        request = self.summary_request(story_id, now=now, related=related)
        if request is None or isinstance(request, StoryUpdate):
            return request
        return summarize(**request)

    def summary_request(
        self, story_id: str, *, now: float, related: Sequence[RelatedStory] = ()
    ) -> StoryUpdate | dict[str, Any] | None:
        """What :meth:`prepare` needs done: None when the story is unchanged since its last
        version, a merged story's last update, or else the keyword arguments of the summarizer
        call (so that a caller may run it elsewhere, in another process)."""
        meta = self._meta(story_id)
        if meta.get("fingerprint") == self.fingerprint(story_id):
            return None
        previous = StoryUpdate.from_dict(meta["last"]) if meta.get("last") else None
        version = int(meta.get("version", 0)) + 1
        if meta.get("merged_into"):
            return _merged_update(story_id, meta["merged_into"], previous, version, now)
        members = self.story_members(story_id)
        if not members:
            return None
        return {
            "story_id": story_id,
            "members": members,
            "version": version,
            "previous": previous,
            "related": list(related),
            "now": now,
            "citations": self.citations(story_id),
        }

    def citations(self, story_id: str) -> dict[str, int]:
        """Article id -> source number [n] of every article the story's versions cited."""
        meta = self._meta(story_id)
        numbers = dict(meta.get("citations") or {})
        last = meta.get("last")
        if last:  # records from before the numbering was kept, and the last version's own
            for source in last.get("sources") or ():
                numbers.setdefault(source["article_id"], source["n"])
        return numbers

    def commit(self, update: StoryUpdate) -> None:
        """Record a published version: the story's content as of now is its fingerprint."""
        numbers = self.citations(update.story_id)
        used = set(numbers.values())
        for source in update.sources:
            if source.article_id not in numbers and source.n not in used:
                numbers[source.article_id] = source.n
                used.add(source.n)
        meta = self._meta(update.story_id)
        meta.update(
            version=update.version,
            fingerprint=self.fingerprint(update.story_id),
            last=update.to_dict(),
            citations=numbers,
        )
        self.meta[update.story_id] = json_bytes(meta)


def _with_id(article: Article, article_id: str) -> Article:
    if article.id == article_id:
        return article
    data = article.to_dict()
    data["id"] = article_id
    return Article.from_dict(data)


def _merged_update(
    story_id: str, into: str, previous: StoryUpdate | None, version: int, now: float
) -> StoryUpdate:
    """The last update of a story absorbed by another: it points readers at the survivor."""
    return StoryUpdate(
        story_id=story_id,
        version=version,
        updated_at=now,
        first_seen=previous.first_seen if previous else now,
        headline=previous.headline if previous else "",
        status_line=f"Merged into story {into}",
        article_count=0,
        merged_into=into,
    )


@dataclass
class RefreshSchedule:
    """When each changed story's summary is due: at once, after a quiet spell, or a longest wait.

    A burst of articles on one story gives one refresh once no article has arrived for
    ``quiet`` seconds; a story that keeps changing is still refreshed every ``longest``
    seconds. With ``lead``, the first change of a story that has not been published for
    ``quiet`` seconds (a new story, or one that was quiet) is due at once, and only the changes
    that follow it are gathered: readers see a new story without waiting, bursts still give
    one update each. The schedule lives in a key/value store (a changelogged table in the
    worker), so a refresh that was due when a worker died is made by whichever worker
    recovers it.

    Args:
        pending: ``"<partition>\\x1f<story_id>"`` -> ``{"first", "last", "related"}`` (orjson),
            with ``"lead": true`` for a change due at once. The partition is the one of the
            assignments that touched the story, so the worker that owns that partition
            publishes it.
        quiet: Seconds without a change after which a story is refreshed.
        longest: Seconds after its first unpublished change by which a story is refreshed.
        lead: Whether the first change after a quiet spell is due at once.
    """

    pending: MutableMapping[str, bytes]
    quiet: float
    longest: float
    lead: bool = False
    # when each story was last published (this process only; after a restart a story's next
    # change is simply due at once)
    published: dict[str, float] = field(default_factory=dict)
    # ``published`` is pruned to the last ``quiet`` seconds when it outgrows this size (not
    # against the pending store's size: a disk-backed table counts its keys one by one)
    prune_at: int = 1024
    # changes not yet written to ``pending`` (see :meth:`touch` and :meth:`persist`)
    staged: dict[str, bytes] = field(default_factory=dict)

    def touch(self, partition: int, story_id: str, now: float, related: Sequence[str]) -> None:
        """Note a change of ``story_id`` at ``now`` (seconds, the worker's clock).

        The change is staged in memory until :meth:`persist`: a story published before
        then (a new story's first version) never costs a pending record.
        """
        key = f"{partition}{_SEP}{story_id}"
        raw = self.staged.get(key) or self.pending.get(key)
        entry = {"first": now, "last": now, "related": list(related)}
        if raw:
            before = orjson.loads(raw)
            entry["first"] = before["first"]
            if before.get("lead"):
                entry["lead"] = True
        elif self.lead and now - self.published.get(story_id, float("-inf")) >= self.quiet:
            entry["lead"] = True
        self.staged[key] = json_bytes(entry)

    def persist(self, partition: int) -> None:
        """Write the partition's staged changes to the pending store (call once the batch
        that made them has published what was due: a crash before then reads it again)."""
        prefix = f"{partition}{_SEP}"
        for key in [k for k in self.staged if k.startswith(prefix)]:
            self.pending[key] = self.staged.pop(key)

    def staged_partitions(self) -> set[int]:
        """The partitions with staged changes."""
        return {int(key.split(_SEP, 1)[0]) for key in self.staged}

    def due(self, now: float, partitions: set[int]) -> list[tuple[int, str, list[str]]]:
        """The stories of ``partitions`` whose refresh is due: (partition, story id, related)."""
        out = []
        entries = {key: raw for key, raw in self.pending.items() if raw is not None}
        entries.update(self.staged)
        for key, raw in entries.items():
            part, story_id = key.split(_SEP, 1)
            if int(part) not in partitions:
                continue
            entry = orjson.loads(raw)
            if (
                entry.get("lead")
                or now - entry["last"] >= self.quiet
                or now - entry["first"] >= self.longest
            ):
                out.append((int(part), story_id, entry["related"]))
        out.sort(key=lambda item: item[1])
        return out

    def done(self, partition: int, story_id: str, now: float | None = None) -> None:
        """Forget a story's pending refresh once its update is published (at ``now``)."""
        key = f"{partition}{_SEP}{story_id}"
        self.staged.pop(key, None)
        if self.pending.get(key) is not None:
            self.pending.pop(key, None)
        if self.lead and now is not None:
            self.published[story_id] = now
            if len(self.published) > self.prune_at:  # keep only recent ones
                horizon = now - self.quiet
                self.published = {s: t for s, t in self.published.items() if t >= horizon}
                self.prune_at = max(1024, 2 * len(self.published))
