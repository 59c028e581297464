"""Print what the last run produced: the run report's counts, the lake's tables and the outputs."""

from __future__ import annotations

import json
from pathlib import Path

from jobs.core.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    runs = sorted((Path(settings.output_dir) / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise SystemExit(f"no run report in {settings.output_dir}/runs")
    report = json.loads(runs[-1].read_text(encoding="utf-8"))
    print(f"run {report['run_id']}  (report: {runs[-1]})")
    print(f"{'table':40} {'in':>8} {'written':>8} {'quarant.':>8}  balanced")
    for t in report["tables"]:
        print(f"{t['table']:40} {t['rows_in']:>8} {t['rows_written']:>8} {t['rows_quarantined']:>8}  {t['balanced']}")
        for rule, n in t.get("details", {}).get("quarantine_by_rule", {}).items():
            print(f"    quarantined by {rule}: {n}")
    for stage in report["stages"]:
        if stage.get("match_rates"):
            for source, rates in stage["match_rates"].items():
                print(f"match {source}: {rates}")
        for value in stage.get("values_to_map", [])[:10]:
            files = value.get("files") or []
            print(f"value to map ({value.get('source')}): {value['table']}.{value['column']} = {value['value']!r} "
                  f"({value['rows']} rows; {', '.join(files[:3])}{' …' if len(files) > 3 else ''})")
    print(f"lake: {settings.lake_uri}")
    print(f"dashboard: {Path(settings.output_dir) / 'dashboards' / 'index.html'}")


if __name__ == "__main__":
    main()
