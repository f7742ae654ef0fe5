"""In-process subscribers: story updates and dead letters handed to registered listeners."""

from __future__ import annotations

import faust

from agents.runtime import Storystream
from schemas import DEADLETTER, STORIES_UPDATES, DeadLetter, StoryUpdate


class ListenerAgents:
    """Reads ``stories.updates`` and ``pipeline.deadletter`` for the worker's own listeners
    (the demo's printer, tests); valid records only."""

    def __init__(self, ss: Storystream) -> None:
        self.ss = ss

    def register(self) -> None:
        ss = self.ss
        ss.app.agent(ss.topics[STORIES_UPDATES], name="updates")(self.updates)
        ss.app.agent(ss.topics[DEADLETTER], name="deadletters")(self.dead_letters)

    async def updates(self, stream: faust.StreamT) -> None:
        async for value in stream:
            if not self.ss.update_listeners:
                continue
            try:
                update = StoryUpdate.from_json(value)
            except Exception:  # noqa: BLE001 - subscribers only read valid updates
                continue
            for listener in self.ss.update_listeners:
                listener(update)

    async def dead_letters(self, stream: faust.StreamT) -> None:
        async for value in stream:
            if not self.ss.deadletter_listeners:
                continue
            try:
                letter = DeadLetter.from_json(value)
            except Exception:  # noqa: BLE001
                continue
            for listener in self.ss.deadletter_listeners:
                listener(letter)
