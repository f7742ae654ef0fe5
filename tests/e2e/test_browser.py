"""The demo in a real browser: home page, story page, live update without reload, XSS, ops."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, Demo, screenshot

pytestmark = pytest.mark.e2e

# Written for these tests: a follow-up about the same summit, and an article full of markup.
FOLLOW_UP = {
    "id": "e2e-followup-nara",
    "url": "https://example-wire.example/asia/nara-summit-wrap",
    "outlet": "example-wire.example",
    "title": "Lee and Takaichi wrap up Nara summit with pledge on shuttle diplomacy",
    "published": "2026-01-14T09:30:00+09:00",
    "text": (
        "South Korean President Lee Jae Myung and Japanese Prime Minister Sanae Takaichi ended "
        "their two-day summit in Nara on Wednesday, pledging to keep up shuttle diplomacy "
        "between Seoul and Tokyo.\n\n"
        "The two leaders visited Horyuji Temple in Nara Prefecture before Lee left for Seoul, "
        "officials said. Takaichi said the Nara summit confirmed close cooperation on regional "
        "security and the denuclearization of North Korea.\n\n"
        "Lee told reporters that the summit with Takaichi built trust and that Korea-Japan "
        "relations would keep moving toward a future-oriented partnership. Both sides agreed to "
        "continue talks on supply chains and economic security."
    ),
}
SCRIPT = "<script>window.__pwned = 1</script>"
XSS = {
    "id": "e2e-xss",
    "url": "https://quillfield-post.example/parade",
    "outlet": "quillfield-post.example",
    "title": f'Quillfield harbour parade {SCRIPT} <img src=x onerror="window.__pwned = 2">',
    "published": "2026-01-20T10:00:00+00:00",
    "text": (
        "The harbour parade in Quillfield drew large crowds on Saturday. "
        "<script>window.__pwned = 3</script> Organisers said "
        '<img src=x onerror="window.__pwned = 4"> floats came from nine coastal towns.\n\n'
        "The parade route followed the old quay and ended at the lighthouse, where a brass "
        "band played until dusk."
    ),
}


def test_demo_is_ready_and_serves_the_api(demo: Demo):
    assert demo.get("/readyz").status_code == 200
    assert demo.get("/livez").json() == {"status": "alive"}
    story = demo.get(f"/api/stories/{demo.story_id}").json()
    assert story["status_line"] == "Updated (3 articles)"


def test_home_page_lists_the_seed_story(demo: Demo, page):
    page.goto(demo.base_url + "/")
    item = page.locator(f'.headline-item[data-story="{demo.story_id}"]')
    item.wait_for()
    assert item.locator("a.headline").inner_text() == demo.headline
    assert "Updated (3 articles)" in item.inner_text()
    assert page.locator("h1").inner_text() == "Top Headlines"
    screenshot(page, "01-home")


def test_story_page_shows_sections_and_citations_to_listed_sources(demo: Demo, page):
    page.goto(f"{demo.base_url}/stories/{demo.story_id}")
    assert page.locator("#status-line").inner_text() == "Updated (3 articles)"
    assert page.locator("h1.headline").inner_text() == demo.headline
    assert page.locator("h2.section-heading").count() >= 3
    cites = page.locator(".summary a.cite")
    assert cites.count() >= 3
    hrefs = {cites.nth(i).get_attribute("href") for i in range(cites.count())}
    for href in hrefs:
        assert re.fullmatch(r"#source-\d+", href)
        assert page.locator(href).count() == 1, f"{href} is not in the sources list"
    assert page.get_by_role("heading", name=re.compile(r"^Sources \(3 articles\)$")).count() == 1
    assert page.get_by_role("heading", name=re.compile(r"^Stories about this story")).count() == 1
    assert page.get_by_role("heading", name="All related articles (3 articles)").count() == 1
    assert page.locator("#all-articles li.article").count() == 3
    assert page.get_by_role("heading", name="Minority Reports").count() == 1
    assert page.get_by_role("heading", name="Unique coverage by outlet").count() == 1
    # Corroborated facts cite every article that reports them.
    multi = [t for t in page.locator(".summary-section p").all_inner_texts() if "][" in t]
    assert multi, "no section sentence cites more than one source"
    entries = page.locator("#timeline li.timeline-entry")
    assert entries.count() >= 1
    when = entries.first.locator("time").inner_text()
    assert re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", when)
    assert entries.first.locator("a.cite").count() >= 1
    first = cites.first
    target = first.get_attribute("href")
    first.click()
    assert page.evaluate("location.hash") == target
    screenshot(page, "02-story-3-articles")


def test_posted_article_appears_on_the_open_page_without_reload(demo: Demo, page):
    page.goto(f"{demo.base_url}/stories/{demo.story_id}")
    assert page.locator("#status-line").inner_text() == "Updated (3 articles)"
    page.evaluate("window.__sameDocument = 'yes'")
    page.wait_for_timeout(500)  # the page's event stream is connected
    response = demo.post_articles(FOLLOW_UP)
    assert response.status_code == 202, response.text
    expect(page.locator("#status-line")).to_have_text("Updated (4 articles)", timeout=60_000)
    assert page.evaluate("window.__sameDocument") == "yes"  # no reload happened
    titles = page.locator("#all-articles li.article").all_inner_texts()
    assert len(titles) == 4
    assert any(FOLLOW_UP["title"] in t for t in titles)
    assert page.get_by_role("heading", name="All related articles (4 articles)").count() == 1
    screenshot(page, "03-story-4-articles-live")


def test_article_markup_renders_as_text_and_never_runs(demo: Demo, page):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    assert demo.post_articles([XSS]).status_code == 202
    deadline = time.monotonic() + 60
    story_id = None
    while time.monotonic() < deadline and story_id is None:
        found = demo.get("/api/articles/e2e-xss")
        if found.status_code == 200:
            story_id = found.json()["story_id"]
            if demo.get(f"/api/stories/{story_id}").status_code != 200:
                story_id = None
        time.sleep(0.3)
    assert story_id, "the markup article was not published"
    page.goto(f"{demo.base_url}/stories/{story_id}")
    headline = page.locator("h1.headline").inner_text()
    assert SCRIPT in headline  # shown as the characters it is made of
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    page.goto(demo.base_url + "/")
    assert page.get_by_text(SCRIPT, exact=False).count() >= 1
    assert page.locator('img[src="x"]').count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    page.goto(f"{demo.base_url}/stories/{story_id}")
    screenshot(page, "04-markup-as-text")


def test_ops_dashboard_shows_throughput(demo: Demo, page):
    # Passes the API's checks but has no article text: the normalize stage dead-letters it.
    empty_page = {"id": "e2e-empty", "content_type": "text/html", "body": "<html></html>"}
    assert demo.post_articles(empty_page).status_code == 202
    page.goto(demo.base_url + "/ops")
    expect(page.locator("body")).to_have_attribute("data-ops-rendered", re.compile(r"\d"))
    normalize = page.locator('#stage-table tr[data-stage="normalize"]')
    assert int(normalize.locator("td.total").inner_text()) >= 5
    expect(normalize.locator("td.peak")).not_to_have_text("0")
    assert page.locator("#chart-throughput path.series").count() >= 4
    # The parade (Jan 20) is active; the summit (last article Jan 14) is dormant in event time.
    assert int(page.locator("#stories-active").inner_text()) >= 1
    assert int(page.locator("#stories-dormant").inner_text()) >= 1
    assert page.locator("#chart-lag path.series").count() >= 1
    expect(page.locator("#dead-count")).to_have_text("1", timeout=30_000)
    expect(page.locator("#dead-reasons")).to_contain_text("normalize")
    screenshot(page, "05-ops")


def test_example_subscriber_reads_story_updates_from_kafka(demo: Demo):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "subscriber.py"),
            "--bootstrap",
            demo.bootstrap,
            "--from-beginning",
            "--story",
            demo.story_id,
            "--max-messages",
            "1",
            "--timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(rf"Updated \(\d+ articles?\) · .+\({demo.story_id} v\d+\)", result.stdout)
