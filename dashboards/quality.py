"""The data-quality report of a run: JSON for machines, an HTML page of the dashboard site for people.

Per table: rows in, written, quarantined and the validity rate; per rule: rows refused; the trend of the
validity rates over the previous runs; the labels waiting for the data steward (values to map).
Scores follow decp-qualite's families: uniqueness (duplicate rules), conformity (every other rule).
"""

from __future__ import annotations

import html
import json
from pathlib import Path


def quality_summary(report: dict, previous: list[dict]) -> dict:
    tables = []
    for t in report["tables"]:
        rules = t.get("details", {}).get("quarantine_by_rule", {})
        n_in = t["rows_in"] or 0
        duplicates = sum(n for r, n in rules.items() if r.endswith(".duplicate"))
        conformity = sum(n for r, n in rules.items() if not r.endswith(".duplicate"))
        tables.append({
            "table": t["table"], "rows_in": n_in, "rows_written": t["rows_written"],
            "rows_quarantined": t["rows_quarantined"],
            "validity": round(t["rows_written"] / n_in, 4) if n_in and not t["table"].startswith("gold/") else None,
            "uniqueness": round(1 - duplicates / n_in, 4) if n_in else None,
            "conformity": round(1 - conformity / max(1, n_in - duplicates), 4) if n_in else None,
            "quarantine_by_rule": rules,
        })
    trend = [{"run_id": r["run_id"], "written_at": r.get("written_at"),
              "validity": {t["table"]: round(t["rows_written"] / t["rows_in"], 4)
                           for t in r["tables"] if t["rows_in"] and not t["table"].startswith("gold/")}}
             for r in [*previous, report]]
    values = [v for s in report["stages"] for v in s.get("values_to_map", [])]
    rates = next((s["match_rates"] for s in report["stages"] if s.get("match_rates")), {})
    return {"run_id": report["run_id"], "tables": tables, "trend": trend, "values_to_map": values,
            "match_rates": rates}


def _files(names: list[str], shown: int = 5) -> str:
    """The exports a label came from: the first few, then how many more."""
    more = f" (+{len(names) - shown})" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


class _Html(str):
    """A cell already in HTML."""


def _rows(items: list[list[str]]) -> str:
    return "\n".join("<tr>" + "".join(f"<td>{c if isinstance(c, _Html) else html.escape(str(c))}</td>" for c in row)
                     + "</tr>" for row in items)


def _validity(t: dict) -> str:
    """The validity rate with the rows it is computed on (every rate of the site shows its n)."""
    if t["validity"] is None:
        return ""
    return _Html(f'<span class="rate">{t["validity"]:.1%} <span class="n">(n = {int(t["rows_in"])})</span></span>')


def quality_page(summary: dict) -> str:
    tables = _rows([[t["table"], t["rows_in"], t["rows_written"], t["rows_quarantined"], _validity(t)]
                    for t in summary["tables"]])
    rules = _rows([[t["table"], rule, n] for t in summary["tables"] for rule, n in t["quarantine_by_rule"].items()])
    values = _rows([[v["table"], v["column"], v["code_list"], v["value"], v["rows"], _files(v.get("files") or [])]
                    for v in summary["values_to_map"]]) or "<tr><td colspan=6>aucune</td></tr>"
    matches = _rows([[k, json.dumps(v, ensure_ascii=False)] for k, v in summary["match_rates"].items()])
    trend = _rows([[r["run_id"], r["written_at"], len(r["validity"])] for r in summary["trend"]])
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Qualité des données — {html.escape(summary['run_id'])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2rem .5rem}}</style></head><body>
<h1>Qualité des données</h1><p>Exécution {html.escape(summary['run_id'])}. Chaque ligne reçue est écrite ou mise en
quarantaine avec sa raison ; rien n'est perdu.</p>
<h2>Par table</h2><table><tr><th>table</th><th>reçues</th><th>écrites</th><th>en quarantaine</th><th>validité</th></tr>
{tables}</table>
<h2>Quarantaine par règle</h2><table><tr><th>table</th><th>règle</th><th>lignes</th></tr>{rules}</table>
<h2>Valeurs à rattacher au référentiel</h2>
<table><tr><th>table</th><th>colonne</th><th>liste</th><th>valeur</th><th>lignes</th><th>fichiers</th></tr>
{values}</table>
<h2>Rapprochement des entités</h2><table><tr><th>source</th><th>taux</th></tr>{matches}</table>
<h2>Historique des exécutions</h2><table><tr><th>exécution</th><th>date</th><th>tables</th></tr>{trend}</table>
</body></html>
"""


def write_quality(report: dict, runs_dir: Path, output_dir: Path) -> list[Path]:
    previous = []
    for p in sorted(runs_dir.glob("*.json"), key=lambda p: p.stat().st_mtime):
        data = json.loads(p.read_text(encoding="utf-8"))
        if data.get("run_id") != report["run_id"]:
            previous.append(data)
    summary = quality_summary(report, previous[-24:])
    quality_dir = output_dir / "quality"
    quality_dir.mkdir(parents=True, exist_ok=True)
    json_path = quality_dir / runs_dir.joinpath(report["run_file"]).name
    json_path.write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    page = output_dir / "dashboards" / "qualite.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(quality_page(summary), encoding="utf-8")
    return [json_path, page]
