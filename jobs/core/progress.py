"""One line per stage as it starts and ends, with its rows and elapsed time (on stderr: stdout stays the
stage's JSON report). A newcomer running the demo or a backfill sees the pipeline move."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console

console = Console(stderr=True, highlight=False, soft_wrap=True)
HEARTBEAT_SECONDS = 20.0  # a long stage still says it is alive: nobody waits a minute in silence


@dataclass
class Step:
    name: str
    report: object = None
    started: float = field(default_factory=time.perf_counter)


def rows_of(report: object) -> str:
    """'1,234 rows written, 5 quarantined' from a stage report (one table or several)."""
    items = report if isinstance(report, list) else [report]
    tables = [t for r in items if isinstance(r, dict) for t in (r.get("tables") or [r]) if isinstance(t, dict)]
    written = sum(t.get("rows_written", 0) or 0 for t in tables if "rows_written" in t)
    bad = sum(t.get("rows_quarantined", 0) or 0 for t in tables if "rows_quarantined" in t)
    landed = sum(r.get("landed", 0) for r in items if isinstance(r, dict) and "landed" in r)
    parts = []
    if any("rows_written" in t for t in tables):
        parts.append(f"{written:,} rows written, {bad:,} quarantined")
    if any(isinstance(r, dict) and "landed" in r for r in items):
        parts.append(f"{landed:,} files landed")
    return "; ".join(parts)


def _heartbeat(step: Step, done: threading.Event) -> None:
    while not done.wait(HEARTBEAT_SECONDS):
        elapsed = time.perf_counter() - step.started
        console.print(f"{time.strftime('%H:%M:%S')} … {step.name} running for {elapsed:.0f} s")


@contextmanager
def progress(stage: str) -> Iterator[Step]:
    step = Step(stage)
    console.print(f"{time.strftime('%H:%M:%S')} ▶ {stage}")
    done = threading.Event()
    threading.Thread(target=_heartbeat, args=(step, done), daemon=True).start()
    try:
        yield step
    except Exception as exc:
        console.print(f"{time.strftime('%H:%M:%S')} ✗ {stage} failed after {time.perf_counter() - step.started:.1f} s: "
                      f"{type(exc).__name__}: {str(exc)[:500]}")
        raise
    finally:
        done.set()
    detail = rows_of(step.report) if step.report is not None else ""
    if isinstance(step.report, dict) and isinstance(step.report.get("skipped"), str):  # not run: nothing changed
        detail = f"skipped: {step.report['skipped']}"
    console.print(f"{time.strftime('%H:%M:%S')} ✓ {stage} in {time.perf_counter() - step.started:.1f} s"
                  + (f" — {detail}" if detail else ""))
