"""ROUGE-1 recall of the seed story's summary against the seed page's own summary text.

Usage: python benchmarks/rouge_seed.py SEEDS_DIR [--max-words 100]

The three raw seed articles (002-004, article bodies) are summarized as one story with the
``summarize`` command; the reference is the section paragraphs of the earlier story page (001),
citation markers removed. Scores use rouge-score with stemming.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import orjson
from rouge_score import rouge_scorer

from agents.cli.summarize import load_story, run_summarize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_bench import lead, lexrank  # noqa: E402


def reference_text(page: str) -> str:
    """The section paragraphs of a story page: between the status line and "Sources (".

    Args:
        page: the page text.
    """
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Updated ("))
    out = []
    for line in lines[start + 1 :]:
        if re.match(r"^(Sources|Stories about this story|All related articles) \(", line):
            break
        if line.strip():
            out.append(re.sub(r"\s*\[\d+\]", "", line.strip()))
    return "\n".join(out)


def seed_jsonl(seeds: Path, out: Path) -> None:
    """Write the raw seed articles (002-004) as JSONL lines, one per file, in name order."""
    with out.open("wb") as fh:
        for path in sorted(seeds.glob("00[234]_*.txt")):
            text = path.read_text(encoding="utf-8", errors="replace")
            fh.write(orjson.dumps({"id": path.stem, "outlet": path.stem[:3], "text": text}))
            fh.write(b"\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", type=Path)
    parser.add_argument("--max-words", type=int, default=100)
    parser.add_argument("--show", action="store_true", help="print the summary and reference")
    args = parser.parse_args(argv)
    page = next(args.seeds.glob("001_*.txt")).read_text(encoding="utf-8")
    reference = reference_text(page)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seeds.jsonl"
        seed_jsonl(args.seeds, path)
        arts = [a for a, _ in load_story(path)]
        baselines = {
            "lead": " ".join(lead(arts, args.max_words)),
            "lexrank": " ".join(lexrank(arts, args.max_words)),
        }
        rows = []
        for words in (args.max_words, 0):
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            summary = run_summarize(path, max_words=words, fmt="text")
            cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
            score = scorer.score(reference, summary)
            rows.append(("storystream", words or len(summary.split()), score, cpu, wall))
            if args.show and words:
                print(summary, end="\n\n")
    if args.show:
        print("reference:\n" + reference + "\n")
    print(f"reference words: {len(reference.split())}")
    for name, text in baselines.items():
        rows.append((name, len(text.split()), scorer.score(reference, text), 0.0, 0.0))
    print("| system | summary words | ROUGE-1 R | ROUGE-1 P | ROUGE-1 F | ROUGE-2 R "
          "| cpu s | wall s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, n, s, cpu, wall in rows:
        r1, r2 = s["rouge1"], s["rouge2"]
        print(f"| {name} | {n} | {100 * r1.recall:.1f} | {100 * r1.precision:.1f} | "
              f"{100 * r1.fmeasure:.1f} | {100 * r2.recall:.1f} | {cpu:.2f} | {wall:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
