"""``storystream demo --feeds FILE --once`` against a local news site: a feed whose three
one-line entries link to pages (navigation, share links, footer) holding the seed articles."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.feedserver import Site, seed_site, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]


def test_demo_feeds_once_turns_the_seed_feed_into_one_story(tmp_path: Path):
    site = serve_in_thread(Site())
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("# the local seed feed\n" + seed_site(site) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "demo",
            "--feeds",
            str(feeds),
            "--once",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "fed 3 articles" in out, out
    updates = [line for line in out.splitlines() if line.startswith("Updated (")]
    assert updates and updates[-1].startswith("Updated (3 articles)"), out
    assert len(set(re.findall(r"\(s-([0-9a-f]+)\s+v\d+\)", out))) == 1, out
    # each page fetched once, politely, after robots.txt
    assert site.hits["/robots.txt"] == 1 and site.hits["/seeds.xml"] == 1
    assert all(site.hits[f"/news/seed-00{n}.html"] == 1 for n in (2, 3, 4))
    assert site.agents == {
        "storystream-feed-fetcher/0.1 (+https://github.com/storystream/storystream)"
    }
