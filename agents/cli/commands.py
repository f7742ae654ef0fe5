"""The ``storystream`` command line: demo, worker, ingest, replay, normalize, eval, summarize."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer

from agents.cli.jsonl import check_input, check_output, err_console

cli = typer.Typer(
    name="storystream",
    help="A streaming news story engine: raw articles in, living stories out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

InputFile = Annotated[Path, typer.Argument(help="JSONL of raw articles, one per line.")]


def _fail(message: object, code: int = 2) -> typer.Exit:
    """Print one ``error: ...`` line on stderr; the caller raises the returned Exit."""
    err_console.print("[red]error:[/] ", end="")
    err_console.print(str(message), markup=False, highlight=False)
    return typer.Exit(code)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can cause (bad input, missing files, no broker) into one line."""
    from agents.cli.eval import CorpusError
    from agents.cli.ingest import BrokerUnreachable
    from pipeline.common.errors import BadInput

    try:
        yield
    except BadInput as exc:
        raise _fail(exc.reason) from exc
    except (CorpusError, BrokerUnreachable, OSError) as exc:
        raise _fail(_os_message(exc)) from exc


def _os_message(exc: BaseException) -> str:
    """``[Errno 2] No such file or directory: 'x'`` → ``no such file or directory: x``."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return f"{exc.strerror.lower()}: {exc.filename}"
    return str(exc)


def _require(path: Path) -> None:
    try:
        check_input(path)
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise _fail(exc) from exc


def _writable(*paths: Path | None) -> None:
    for path in paths:
        if path is None:
            continue
        try:
            check_output(path)
        except OSError as exc:
            raise _fail(exc) from exc


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"storystream {package_version('storystream')}")
        except PackageNotFoundError:
            typer.echo("storystream (not installed)")
        raise typer.Exit()


# Commands that run the stages in their own process (see agents.helpers.one_blas_thread).
STAGE_COMMANDS = frozenset({"demo", "worker", "replay", "eval", "bench", "summarize"})


@cli.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A streaming news story engine: raw articles in, living stories out."""
    if ctx.invoked_subcommand in STAGE_COMMANDS:
        from agents.helpers import one_blas_thread

        one_blas_thread()


@cli.command()
def demo(
    input: Annotated[
        Path | None, typer.Option("--input", help="Feed this JSONL instead of the sample.")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Exit 0 once every article's story is published.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            help="With --once: give up after this many s (the process ends at most "
            "a minute later, whatever state the worker is in)."
        ),
    ] = 180,
    port: Annotated[int | None, typer.Option(help="Web port (default: a free one).")] = None,
    feeds: Annotated[
        Path | None,
        typer.Option(
            "--feeds",
            help="Poll the feeds this file lists (one URL a line, or OPML) and fetch their "
            "pages instead of feeding the sample; with --once each feed is polled once.",
        ),
    ] = None,
) -> None:
    """Start the embedded broker, a worker and the web UI; feed articles; print story updates."""
    from agents.cli.demo import run_demo

    if input is not None:
        _require(input)
    if feeds is not None:
        _require(feeds)
    raise typer.Exit(
        run_demo(input, once=once, timeout=timeout, web_port=port, feeds_path=feeds)
    )


@cli.command()
def worker() -> None:
    """Run a worker against BROKER_URL (a real Kafka cluster); settings from the environment."""
    from agents.app import build_app
    from agents.worker import run_worker

    ss = build_app()
    err_console.print(
        f"worker {ss.settings.app_id} on {ss.settings.broker_url}, web on "
        f"http://{ss.settings.web_host}:{ss.settings.web_port}/"
    )
    run_worker(ss)


@cli.command()
def ingest(
    source: Annotated[str, typer.Argument(help="JSONL file, folder of .txt/.html, or feed.")],
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker",
            help="Kafka bootstrap servers (kafka://host:port or host:port); "
            "default: BROKER_URL, else kafka://localhost:9092.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Send articles from SOURCE to articles.raw on the Kafka broker at BROKER_URL (or --broker)."""
    from agents.cli.ingest import ingest as run_ingest
    from agents.offsets import bootstrap_of
    from agents.settings import Settings

    url = broker or Settings.from_env().broker_url
    # aiokafka logs every refused connection itself; the one-line error below says it all.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    with _user_errors():
        try:
            asyncio.run(run_ingest(source, bootstrap_of(url)))
        except ValueError as exc:  # an unreadable feed
            raise _fail(exc) from exc


@cli.command()
def replay(
    input: InputFile,
    out: Annotated[Path, typer.Option("--out", help="Assignments JSONL to write.")],
    stories: Annotated[
        Path | None, typer.Option("--stories", help="Write each story's final StoryUpdate.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes preparing articles (normalize, signatures, term statistics);"
            " default: one per core for files of 2,000 lines or more. Same output either way.",
        ),
    ] = None,
) -> None:
    """Run every stage over INPUT, in file order."""
    from agents.cli.replay import replay as run_replay

    _require(input)
    _writable(out, stories)
    with _user_errors():
        stats = run_replay(input, out, stories, show_progress=not quiet, workers=workers)
    err_console.print(
        f"{stats.lines} articles, {stats.stories} stories, {stats.failed} failed, "
        f"{stats.rate:,.0f} articles/s"
    )


@cli.command()
def normalize(
    input: InputFile,
    out: Annotated[Path, typer.Option("--out", help="Normalized articles JSONL to write.")],
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Normalize every raw article of INPUT (same order)."""
    from agents.cli.replay import normalize_file

    _require(input)
    _writable(out)
    with _user_errors():
        stats = normalize_file(input, out, show_progress=not quiet)
    err_console.print(
        f"{stats.lines} articles, {stats.failed} failed, {stats.rate:,.0f} articles/s"
    )


@cli.command(name="eval")
def evaluate(
    corpus: Annotated[Path, typer.Argument(help="JSONL with gold `event` (and `topic`).")],
) -> None:
    """Replay a labelled corpus in date order and score stories against the gold labels."""
    from agents.cli.eval import format_report, run_eval

    _require(corpus)
    with _user_errors():
        report = run_eval(corpus)
    typer.echo(format_report(report))


@cli.command()
def bench(
    corpus: Annotated[Path, typer.Argument(help="JSONL of raw articles to time.")],
    repeat: Annotated[int, typer.Option(help="Runs per stage.")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
) -> None:
    """Whole-process throughput of normalize and replay on CORPUS (articles/s, peak memory)."""
    import orjson

    from agents.cli.bench import format_rows, run_bench

    _require(corpus)
    with _user_errors():
        rows = run_bench(corpus, repeat=repeat)
    typer.echo(orjson.dumps(rows).decode() if json_out else format_rows(rows))


class SummaryFormat(StrEnum):
    text = "text"
    json = "json"


@cli.command()
def summarize(
    articles: InputFile,
    max_words: Annotated[int, typer.Option("--max-words", help="Cut text output here.")] = 100,
    format: Annotated[SummaryFormat, typer.Option("--format")] = SummaryFormat.text,
) -> None:
    """Summarize all articles of a JSONL as one story."""
    from agents.cli.summarize import run_summarize

    _require(articles)
    with _user_errors():
        text = run_summarize(articles, max_words=max_words, fmt=format.value)
    typer.echo(text)


def main() -> None:
    """Console-script entry point."""
    from agents.settings import SettingsError

    try:
        sys.exit(cli())
    except SettingsError as exc:
        err_console.print(f"[red]configuration error:[/] {exc}")
        sys.exit(2)

