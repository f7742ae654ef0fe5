"""Reading JSONL inputs line by line, with clear per-line errors and a progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# Off a terminal (a log file, a pipe) lines are written whole: no wrapping at 80 columns.
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class Line:
    """One input line: its 1-based number, raw bytes and decoded object (None when invalid)."""

    number: int
    raw: bytes
    data: dict | None
    error: str | None


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def read_jsonl(path: Path) -> Iterator[Line]:
    """Yield every non-blank line; a malformed one carries an error instead of data."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            raw = raw.strip()
            if not raw:
                continue
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield Line(number, raw, None, f"line {number}: not valid JSON ({exc})")
                continue
            if not isinstance(data, dict):
                kind = type(data).__name__
                yield Line(number, raw, None, f"line {number}: expected a JSON object, got {kind}")
                continue
            yield Line(number, raw, data, None)


def progress(description: str, total: int | None, enabled: bool = True) -> Progress:
    """A progress bar on stderr (hidden when disabled or not a terminal: no cursor codes)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not enabled or not err_console.is_terminal,
        transient=False,
    )


def check_input(path: Path) -> None:
    """Fail with a clear message when an input file is missing or unreadable."""
    if not path.exists():
        raise FileNotFoundError(f"input file not found: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"expected a JSONL file, got a directory: {path}")


def check_output(path: Path) -> None:
    """Fail with a clear message when an output file cannot be created where it is asked for."""
    folder = path.parent
    if not folder.exists():
        raise FileNotFoundError(f"output folder does not exist: {folder} (for {path})")
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {folder} (for {path})")
    if path.is_dir():
        raise IsADirectoryError(f"expected a file to write, got a directory: {path}")
