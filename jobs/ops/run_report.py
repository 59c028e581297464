"""The run report: rows in, written and quarantined per table (``<output>/runs/<run id>.json``), and the
data-quality page drawn from it. ``balanced`` says whether every input row was written or quarantined."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dashboards.quality import write_quality
from jobs.core.context import utc_now
from jobs.core.settings import Settings


def run_file_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") + ".json"


def table_rows(stages: list[dict]) -> list[dict]:
    """One line per table of the stages' reports; gold cells aggregate rows (in != written by design): their
    conservation checks run in the jobs."""
    tables = []
    for s in [t for stage in stages for t in (stage.get("tables") or [stage])]:
        if "table" not in s:
            continue
        row = {k: s[k] for k in ("table", "rows_in", "rows_written", "rows_quarantined")}
        row["balanced"] = s["table"].startswith("gold/") or s["rows_in"] == s["rows_written"] + s["rows_quarantined"]
        row["details"] = s.get("details", {})
        tables.append(row)
    return tables


def write_run_report(run_id: str, stages: list[dict], settings: Settings | None = None) -> Path:
    """Write the report and the quality page; raise when a table is not balanced (rows were lost)."""
    settings = settings or Settings.from_env()
    tables = table_rows(stages)
    report = {"run_id": run_id, "written_at": utc_now().isoformat(), "lake_uri": settings.lake_uri,
              "tables": tables, "stages": stages, "balanced": all(t["balanced"] for t in tables)}
    path = Path(settings.output_dir) / "runs" / run_file_name(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    write_quality({**report, "run_file": path.name}, path.parent, Path(settings.output_dir))
    if not report["balanced"]:
        raise RuntimeError(f"run {run_id}: rows in != written + quarantined, see {path}")
    return path
