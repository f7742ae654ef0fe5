"""``storystream bench``: whole-process throughput of normalize and replay on a corpus."""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from agents.cli.replay import normalize_file, replay


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(corpus: Path, *, repeat: int = 1) -> list[dict]:
    """Time ``normalize`` and ``replay`` over the corpus; one row per (stage, run)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="storystream-bench-") as tmp:
        out = Path(tmp) / "out.jsonl"
        stories = Path(tmp) / "stories.jsonl"
        for _ in range(repeat):
            for stage in ("normalize", "replay"):
                cpu, wall = time.process_time(), time.perf_counter()
                if stage == "normalize":
                    stats = normalize_file(corpus, out, show_progress=False)
                else:
                    stats = replay(corpus, out, stories, show_progress=False)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                rows.append(
                    {
                        "stage": stage,
                        "articles": stats.lines,
                        "failed": stats.failed,
                        "wall_s": round(wall, 3),
                        "cpu_s": round(cpu, 3),
                        "articles_per_s_wall": round(stats.lines / wall, 1),
                        "articles_per_s_cpu": round(stats.lines / cpu, 1) if cpu else None,
                        "peak_rss_mib": round(_peak_rss_mib(), 1),
                    }
                )
    return rows


def format_rows(rows: list[dict]) -> str:
    header = (
        f"{'stage':<10} {'articles':>8} {'wall s':>8} {'cpu s':>8} {'art/s wall':>11} "
        f"{'art/s cpu':>10} {'peak MiB':>9}"
    )
    lines = [header]
    for r in rows:
        lines.append(
            f"{r['stage']:<10} {r['articles']:>8} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} "
            f"{r['articles_per_s_wall']:>11,.0f} {r['articles_per_s_cpu'] or 0:>10,.0f} "
            f"{r['peak_rss_mib']:>9.0f}"
        )
    return "\n".join(lines)
