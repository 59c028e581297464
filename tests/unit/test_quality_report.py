import json

from dashboards.quality import quality_summary, write_quality


def report(run_id, written):
    return {
        "run_id": run_id, "written_at": "2026-11-28T10:00:00",
        "tables": [{"table": "silver/heures_insertion", "rows_in": 100, "rows_written": written,
                    "rows_quarantined": 100 - written,
                    "details": {"quarantine_by_rule": {"heures.duplicate": 4, "heures.value_valid": 96 - written}}}],
        "stages": [{"stage": "silver_sources", "values_to_map": [
            {"table": "operations", "column": "modalite_juridique", "code_list": "legal_modalities",
             "value": "clause spéciale n°7", "rows": 3,
             "files": ["clause93_operations_2024.csv", "clause93_operations_2025.csv"]}]}],
    }


def test_scores_and_trend():
    summary = quality_summary(report("r2", 90), [report("r1", 80)])
    [t] = summary["tables"]
    assert t["validity"] == 0.9 and t["uniqueness"] == 0.96
    assert t["conformity"] == round(1 - 6 / 96, 4)
    assert [r["validity"]["silver/heures_insertion"] for r in summary["trend"]] == [0.8, 0.9]
    assert summary["values_to_map"][0]["value"] == "clause spéciale n°7"


def test_written_files(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "r1.json").write_text(json.dumps(report("r1", 80)))
    json_path, page = write_quality({**report("r2", 90), "run_file": "r2.json"}, runs, tmp_path)
    assert json.loads(json_path.read_text())["run_id"] == "r2"
    text = page.read_text(encoding="utf-8")
    assert "clause spéciale n°7" in text and "90.0%" in text
    assert "clause93_operations_2024.csv, clause93_operations_2025.csv" in text  # where the label came from
