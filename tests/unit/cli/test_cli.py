"""The command-line contract: replay and normalize outputs, clear errors, ingest sources."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from agents.cli.commands import cli
from agents.cli.ingest import iter_source
from agents.offsets import bootstrap_of

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]


def _sample_lines() -> list[bytes]:
    data = resources.files("agents") / "data" / "sample.jsonl"
    return [line for line in data.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> tuple[list[dict], list[dict], list[dict]]:
    tmp = tmp_path_factory.mktemp("replay")
    lines = _sample_lines()
    source = tmp / "in.jsonl"
    # The sample plus a malformed line and a non-object line in the middle.
    source.write_bytes(b"\n".join(lines[:5] + [b"{oops", b"[1, 2]"] + lines[5:]) + b"\n")
    out, stories = tmp / "out.jsonl", tmp / "stories.jsonl"
    result = runner.invoke(
        cli, ["replay", str(source), "--out", str(out), "--stories", str(stories), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    inputs = [
        orjson.loads(x) if x.startswith(b"{") and x != b"{oops" else None
        for x in source.read_bytes().splitlines()
    ]
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    updates = [orjson.loads(x) for x in stories.read_bytes().splitlines()]
    return inputs, rows, updates


def test_replay_writes_one_line_per_input_line_in_order(replayed):
    inputs, rows, _ = replayed
    assert len(rows) == len(inputs)
    for given, row in zip(inputs, rows, strict=True):
        assert set(row) >= {"id", "story_id", "duplicate_of", "dup_kind"}
        if given is None:
            assert row["story_id"] is None and "line" in row["error"]
        else:
            assert row["id"] == given["id"] and row["story_id"]


def test_replay_puts_the_three_seeds_in_one_story_of_three(replayed):
    _, rows, updates = replayed
    seed_story = {r["story_id"] for r in rows if (r["id"] or "").startswith("seed-")}
    assert len(seed_story) == 1
    update = next(u for u in updates if u["story_id"] in seed_story)
    assert update["article_count"] == 3
    assert update["status_line"] == "Updated (3 articles)"
    assert "¡" not in update["headline"] and "Ã" not in update["headline"]
    cited = {n for s in update["sections"] for n in s["citations"]}
    assert cited and cited <= {s["n"] for s in update["sources"]}
    for section in update["sections"]:
        assert section["heading"]
        assert "[" in section["text"]


def test_replay_marks_resend_revision_and_wire_copy(replayed):
    inputs, rows, updates = replayed
    kinds = {r["dup_kind"] for r in rows}
    assert {"resend", "revision"} <= kinds
    assert kinds & {"syndicated", "light_edit"}
    by_id = {u["story_id"]: u for u in updates}
    # Resends and revisions never add to a story's count.
    for row in rows:
        if row["dup_kind"] in ("resend", "revision"):
            story = by_id[row["story_id"]]
            ids = [a["article_id"] for a in story["articles"]]
            assert len(ids) == len(set(ids)) == story["article_count"]


def test_normalize_keeps_order_and_reports_bad_lines(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    good = {"id": "n1", "url": "https://a.example/n1", "text": "First paragraph here.\nSecond."}
    empty = {"id": "n2", "url": "https://a.example/n2", "text": "   "}
    source.write_bytes(b"\n".join([orjson.dumps(good), orjson.dumps(empty), b"nope"]) + b"\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(cli, ["normalize", str(source), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert [r["id"] for r in rows] == ["n1", "n2", None]
    assert {"title", "text", "lang", "repairs"} <= set(rows[0])
    assert "error" in rows[1] and "line 3" in rows[2]["error"]


def test_missing_input_is_a_clear_error(tmp_path: Path):
    missing = tmp_path / "nope.jsonl"
    result = runner.invoke(cli, ["replay", str(missing), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    assert "not found" in result.output


def test_ingest_reads_jsonl_folders_and_feeds(tmp_path: Path):
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(b'{"id": "x", "text": "t"}\n\n{"id": "y", "text": "u"}\n')
    assert len(list(iter_source(str(jsonl)))) == 2
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "one.txt").write_text("Plain text article.")
    (folder / "two.html").write_text("<html><body><p>Hi</p></body></html>")
    (folder / "skip.png").write_bytes(b"\x89PNG")
    docs = [orjson.loads(p) for p in iter_source(str(folder))]
    assert [d["id"] for d in docs] == ["one", "two"]
    assert docs[1]["content_type"] == "text/html"
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbor Post</title>'
        "<item><title>Bridge reopens</title><link>https://harbor.example/bridge</link>"
        "<description>The bridge reopened.</description>"
        "<pubDate>Mon, 12 Jan 2026 10:00:00 GMT</pubDate></item></channel></rss>"
    )
    (entry,) = [orjson.loads(p) for p in iter_source(str(feed))]
    assert entry["url"] == "https://harbor.example/bridge"
    assert entry["outlet"] == "Harbor Post" and entry["title"] == "Bridge reopens"
    with pytest.raises(FileNotFoundError):
        list(iter_source(str(tmp_path / "missing.jsonl")))


def test_bootstrap_of_faust_urls():
    assert bootstrap_of("kafka://a:9092;kafka://b:9092") == "a:9092,b:9092"
    assert bootstrap_of("kafka://localhost:29092") == "localhost:29092"


def test_bench_reports_both_stages(tmp_path: Path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(b"\n".join(_sample_lines()[3:9]) + b"\n")
    result = runner.invoke(cli, ["bench", str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    rows = orjson.loads(result.stdout)
    assert [r["stage"] for r in rows] == ["normalize", "replay"]
    assert all(r["articles"] == 6 and r["articles_per_s_wall"] > 0 for r in rows)


def _error_line(code: int, stderr: str, output: str) -> str:
    """The single ``error: ...`` line a failed command printed (and no traceback)."""
    assert code != 0, output
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _one_error_line(result) -> str:
    """:func:`_error_line` of a command run in process."""
    return _error_line(result.exit_code, result.stderr, result.output)


def test_eval_skips_a_malformed_line_naming_its_number(tmp_path: Path):
    corpus = tmp_path / "c.jsonl"
    good = {"id": "e1", "title": "Harbor bridge reopens", "text": "The bridge reopened.",
            "event": "bridge"}
    corpus.write_bytes(orjson.dumps(good) + b"\n{oops\n")
    result = runner.invoke(cli, ["eval", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "line 2: not valid JSON" in result.stderr
    assert "Traceback" not in result.output
    assert "1 articles" in result.stdout


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "no article to score"), (b'{"id": "a", "text": "t"}\n', "no line carries a gold")],
)
def test_eval_refuses_an_empty_or_unlabelled_corpus(tmp_path: Path, content, reason):
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(content)
    assert reason in _one_error_line(runner.invoke(cli, ["eval", str(corpus)]))


def test_summarize_on_an_empty_file_is_one_line(tmp_path: Path):
    empty = tmp_path / "e.jsonl"
    empty.write_bytes(b"")
    assert "no usable article" in _one_error_line(runner.invoke(cli, ["summarize", str(empty)]))


@pytest.mark.parametrize("command", ["replay", "normalize"])
def test_output_into_a_missing_folder_is_one_line(tmp_path: Path, command):
    source = tmp_path / "in.jsonl"
    source.write_bytes(_sample_lines()[0] + b"\n")
    out = tmp_path / "missing" / "out.jsonl"
    line = _one_error_line(runner.invoke(cli, [command, str(source), "--out", str(out)]))
    assert "output folder does not exist" in line
    assert not out.parent.exists()


def test_failed_lines_name_their_number_once_and_are_not_wrapped(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"{oops\n" + orjson.dumps({"id": "blank", "text": " "}) + b"\n")
    result = runner.invoke(cli, ["normalize", str(source), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0, result.output
    assert "line 1: not valid JSON" in result.stderr
    assert "line 1: line 1" not in result.stderr
    assert "\x1b[" not in result.stderr  # no colour or cursor codes off a terminal
    # A long message stays on one line off a terminal instead of wrapping at 80 columns.
    (bad,) = [line for line in result.stderr.splitlines() if line.startswith("line 1:")]
    assert len(bad) > 80 and bad.endswith("(skipped)")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BROKER_URL": f"kafka://127.0.0.1:{_free_port()}"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT
    )


def _single_error(proc: subprocess.CompletedProcess) -> str:
    """:func:`_error_line` of a command run as its own process."""
    return _error_line(proc.returncode, proc.stderr, proc.stdout + proc.stderr)


def test_ingest_without_a_broker_is_one_line(tmp_path: Path):
    source = tmp_path / "a.jsonl"
    source.write_bytes(b'{"id": "x", "text": "t"}\n')
    cli_main = "from agents.cli import main; main()"
    line = _single_error(_run("-c", cli_main, "ingest", str(source)))
    assert "cannot reach Kafka" in line
    # A missing input is named first, before any broker is tried.
    missing = _single_error(_run("-c", cli_main, "ingest", str(tmp_path / "gone.jsonl")))
    assert "no such file" in missing and "gone.jsonl" in missing


def test_example_subscriber_without_a_broker_is_one_line():
    line = _single_error(_run("examples/subscriber.py", "--timeout", "5"))
    assert "cannot reach Kafka" in line


def test_version_and_ingest_help_name_the_broker():
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("storystream ")
    result = runner.invoke(cli, ["ingest", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--broker" in result.stdout and "BROKER_URL" in result.stdout


def test_demo_updates_stay_on_one_line_and_print_headlines_literally():
    from agents.cli import demo
    from schemas import StoryUpdate

    headline = "[bold]Harbor[/] bridge " + "reopens after months of repairs " * 4
    update = StoryUpdate(
        story_id="s-1", version=2, updated_at=0.0, first_seen=0.0, headline=headline,
        status_line="Updated (2 articles)", article_count=2,
    )
    with demo.console.capture() as captured:
        demo.print_update(update)
    text = captured.get()
    assert text.count("\n") == 1 and len(text) > 120  # not wrapped at 80 columns
    assert headline.strip() in text and "(s-1 v2)" in text
