"""Feed polling at scale: one worker follows N feeds served by a local site.

Usage:
    python benchmarks/feed_poll.py [--feeds 1000] [--hosts 50] [--interval 60]
        [--seconds 180] [--host-delay 0.5] [--changing 0.05]

A child process serves N RSS feeds on 127.0.0.1 spread over ``--hosts`` ports (the fetcher
allows one request at a time per host); each feed answers 304 to its ETag, and a share
``--changing`` of them gains a full-text entry every interval. The worker (embedded broker,
the whole pipeline) gets the feeds on the ``feeds`` topic and runs for ``--seconds``. Printed:
polls and requests per second, how late each poll started after it was due (the feed's own
adaptive interval), feeds never re-polled, and the worker's CPU time per second.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def serve(ports: list[int], feeds: int, changing: float, interval: float, ready) -> None:
    """The local site (child process): feed n on port n % len(ports)."""
    from aiohttp import web

    from tests.feedserver import rss

    started = time.time()

    async def handle(request: web.Request) -> web.Response:
        if request.path == "/robots.txt":
            return web.Response(text="User-agent: *\nDisallow: /private/\n")
        n = int(request.path.rsplit("/", 1)[1].split(".")[0])
        moving = n < feeds * changing  # the others list no entry at all
        epoch = int((time.time() - started) // interval) if moving else 0
        etag = f'"{n}-{epoch}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        items = [
            {"guid": f"{n}-{k}", "link": f"http://127.0.0.1:{request.url.port}/a/{n}-{k}",
             "title": f"Report {k} from feed {n}",
             "description": f"Feed {n} item {k}: " + "the council met again today. " * 20}
            for k in range(epoch, max(-1, epoch - 5), -1)
            if moving
        ]
        return web.Response(body=rss(items), headers={"ETag": etag,
                                                       "Content-Type": "application/rss+xml"})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for port in ports:
            await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--interval", type=float, default=60.0)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--host-delay", type=float, default=0.5)
    ap.add_argument("--changing", type=float, default=0.05)
    args = ap.parse_args()

    from agents.app import build_app
    from agents.broker import EmbeddedBroker, free_port
    from agents.cli.demo import wait_until_assigned
    from agents.settings import Settings
    from agents.stages.feeds import submit_feeds
    from agents.worker import run_worker

    ports = [free_port() for _ in range(args.hosts)]
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(ports, args.feeds, args.changing, args.interval, ready), daemon=True
    )
    server.start()
    ready.wait(30)
    urls = [f"http://127.0.0.1:{ports[n % len(ports)]}/feed/{n}.xml" for n in range(args.feeds)]

    lateness: list[float] = []
    polls_at: dict[str, list[float]] = {}
    result: dict[str, float] = {}
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            broker_url=broker.url, broker_profile="embedded", store_url="memory://",
            data_dir=Path(tmp), web_port=free_port(), feed_interval_seconds=args.interval,
            feed_min_interval_seconds=args.interval, feed_max_interval_seconds=args.interval,
            fetch_host_delay_seconds=args.host_delay, fetch_timeout_seconds=10.0,
        )
        ss = build_app(settings)
        fetcher = ss.feeds
        original = fetcher.poll

        async def timed_poll(url: str) -> None:
            state = fetcher.states.get(url)
            now = time.time()
            if state is not None and state.polls:
                lateness.append(now - state.next_due)
            polls_at.setdefault(url, []).append(now)
            await original(url)

        fetcher.poll = timed_poll  # type: ignore[method-assign]

        @ss.app.task
        async def drive() -> None:
            await wait_until_assigned(ss)
            await submit_feeds(ss, urls)
            cpu0, wall0 = time.process_time(), time.monotonic()
            await asyncio.sleep(args.seconds)
            result["cpu"] = time.process_time() - cpu0
            result["wall"] = time.monotonic() - wall0
            os.kill(os.getpid(), signal.SIGTERM)

        run_worker(ss)
        metrics = ss.metrics.render().decode()
    server.terminate()

    polls = sum(len(v) for v in polls_at.values())
    wall = result.get("wall", args.seconds)
    late = sorted(lateness)

    def pct(q: float) -> float:
        return late[min(len(late) - 1, int(q * len(late)))] if late else float("nan")

    repolled = sum(1 for v in polls_at.values() if len(v) >= 2)
    expected_repolls = args.seconds > 2 * args.interval
    print(f"feeds {args.feeds} on {args.hosts} hosts, interval {args.interval:g}s, "
          f"host delay {args.host_delay:g}s, {wall:.0f}s of polling")
    print(f"polls {polls} ({polls / wall:.1f}/s; requests incl. robots.txt "
          f"{(polls + args.hosts) / wall:.1f}/s); feeds polled {len(polls_at)}/{args.feeds}, "
          f"re-polled {repolled}/{args.feeds}" + ("" if expected_repolls else " (run longer)"))
    print(f"re-poll lateness after due: p50 {pct(0.5):.2f}s p95 {pct(0.95):.2f}s "
          f"max {late[-1] if late else float('nan'):.2f}s")
    print(f"worker CPU {result.get('cpu', 0):.1f}s in {wall:.0f}s "
          f"({100 * result.get('cpu', 0) / wall:.1f}% of one core)")
    for line in metrics.splitlines():
        if line.startswith(("storystream_feed_polls_total", "storystream_feed_errors_total",
                            "storystream_feed_articles_total")):
            print(" ", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
