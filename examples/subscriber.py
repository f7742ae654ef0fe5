"""Example downstream subscriber: follow story updates on the ``stories.updates`` Kafka topic.

Each record's key is the story id and its value one StoryUpdate as plain JSON (no envelope):
``story_id``, ``version``, ``headline``, ``status_line`` ("Updated (N articles)"),
``article_count``, ``sections``, ``sources``, ``whats_new``, ... (see the README and
``/openapi.json``). Versions of a story only grow; a redelivered or older version can be
ignored by comparing ``version``. An update with ``merged_into`` set says the story was absorbed
by another one.

    python examples/subscriber.py --bootstrap 127.0.0.1:9092 --from-beginning
    python examples/subscriber.py --story s-99d8577a7d3ed39c --max-messages 5

Only aiokafka is needed, so the script can be copied into any service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError

TOPIC = "stories.updates"


def bootstrap_from_env() -> str:
    """BROKER_URL in faust form (kafka://host:port;kafka://...) as bootstrap servers."""
    url = os.environ.get("BROKER_URL", "kafka://localhost:9092")
    hosts = [part.split("://", 1)[-1] for part in url.split(";") if part.strip()]
    return ",".join(hosts)


async def follow(args: argparse.Namespace) -> int:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=args.bootstrap,
        group_id=args.group or None,  # a group shares partitions between subscriber copies
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        enable_auto_commit=bool(args.group),
    )
    try:
        await consumer.start()
    except KafkaConnectionError:
        await consumer.stop()
        print(
            f"error: cannot reach Kafka at {args.bootstrap} (set BROKER_URL or --bootstrap)",
            file=sys.stderr,
        )
        return 2
    latest: dict[str, int] = {}
    seen = 0
    deadline = time.monotonic() + args.timeout if args.timeout else None
    try:
        while deadline is None or time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                for message in messages:
                    update = json.loads(message.value)
                    story = update["story_id"]
                    if args.story and story not in args.story:
                        continue
                    if update["version"] <= latest.get(story, 0):
                        continue  # redelivered or out of date
                    latest[story] = update["version"]
                    if update.get("merged_into"):
                        print(f"{story} merged into {update['merged_into']}", flush=True)
                    else:
                        print(
                            f"{update['status_line']} · {update['headline']} "
                            f"({story} v{update['version']})",
                            flush=True,
                        )
                    seen += 1
                    if args.max_messages and seen >= args.max_messages:
                        return 0
    finally:
        await consumer.stop()
    return 0 if seen or not args.max_messages else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=bootstrap_from_env(), help="host:port[,...]")
    parser.add_argument("--group", default="", help="consumer group (default: none)")
    parser.add_argument("--from-beginning", action="store_true", help="replay the topic")
    parser.add_argument("--story", action="append", help="only this story id (repeatable)")
    parser.add_argument("--max-messages", type=int, default=0, help="stop after this many")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many s")
    # aiokafka logs each refused connection itself; one clear line is printed instead.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    return asyncio.run(follow(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
