"""Summary refresh on the embedded broker: a burst gives few updates, versions grow by one."""

from __future__ import annotations

import orjson
import pytest

from schemas import STORIES_UPDATES
from tests.integration.conftest import TopicReader, send_raw

pytestmark = pytest.mark.integration

CORE = (
    "Firefighters in Alder Creek battled a warehouse fire on Dock Street through the night, "
    "and the Alder Creek fire chief Maria Ostrander said the blaze at the Keller Freight "
    "warehouse was under control by Friday morning."
)
ANGLES = [
    "Residents of the Dock Street apartments were told to keep windows closed because of smoke.",
    "The Keller Freight warehouse stored paper goods and pallets, according to county records.",
    "Two firefighters were treated for heat exhaustion and released from Alder Creek General.",
    "Investigators from the state fire marshal's office arrived to look for the cause.",
    "Traffic on the Harbor Road bridge was diverted for six hours while crews pumped water.",
    "The owner of Keller Freight said all forty workers on the night shift got out safely.",
    "Neighbors described seeing orange flames above the roofline shortly after midnight.",
    "Crews from three neighboring towns joined the response, bringing ladder trucks.",
    "The city opened the Dock Street community hall for families displaced by the smoke.",
    "Power was cut to several blocks near the warehouse as a precaution overnight.",
    "A drone from the county sheriff mapped hot spots on the collapsed roof at dawn.",
    "Local businesses along the waterfront stayed closed on Friday as cleanup began.",
    "The fire chief said the sprinkler system had been inspected last spring.",
    "Environmental officers tested runoff entering the harbor for contaminants.",
    "Insurance adjusters estimated the losses could reach several million dollars.",
    "Students at the nearby Harbor Elementary school were moved to indoor recess.",
    "A spokesperson for the mayor thanked volunteers who brought food to the crews.",
    "The warehouse was built in 1962 and had been expanded twice, records show.",
    "Firefighters kept watering the ruins through the afternoon to stop flare-ups.",
    "The state fire marshal expects to publish a preliminary report within two weeks.",
]


def _article(i: int) -> bytes:
    return orjson.dumps(
        {
            "id": f"fire-{i:02d}",
            "url": f"https://outlet{i}.example/news/dock-street-fire",
            "outlet": f"outlet{i}.example",
            "title": f"Dock Street warehouse fire in Alder Creek under control ({i})",
            "text": "\n".join([CORE, ANGLES[i], ANGLES[(i + 7) % 20], ANGLES[(i + 13) % 20]]),
            "published": f"2026-02-06T{8 + i // 6:02d}:{(i * 7) % 60:02d}:00+00:00",
        }
    )


async def test_a_burst_of_twenty_articles_gives_few_updates(broker, worker_factory, producer):
    worker = worker_factory(STORYSTREAM_SUMMARY_DEBOUNCE="1.0")
    worker.wait_ready()
    for i in range(20):
        await send_raw(producer, _article(i), f"fire-{i:02d}")
    async with TopicReader(broker, STORIES_UPDATES) as updates:
        records = await updates.until(
            lambda r: any(u["article_count"] == 20 for u in r), timeout=90
        )
        records = await updates.drain(2.5)
    assert {u["story_id"] for u in records} == {records[0]["story_id"]}
    assert len(records) <= 5, [u["status_line"] for u in records]
    assert records[-1]["status_line"] == "Updated (20 articles)"
    assert [u["version"] for u in records] == list(range(1, len(records) + 1))
