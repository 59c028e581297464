"""A run of month M lands undated files and the month folders up to M (late ones caught up, later ones wait);
the bulk range lands its folders at once. No Spark: landing is plain file copies and a manifest."""

from __future__ import annotations

from datetime import UTC, datetime

from generator.core import to_monthly_folders
from jobs.ingest.landing import land_inbox, read_manifest

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def _inbox(settings) -> None:
    decp = settings.inbox_path / "decp"
    for month in ("2024-01", "2024-02", "2024-03"):
        (decp / month).mkdir(parents=True)
        (decp / month / f"decp_{month}.json").write_text(f'{{"m": "{month}"}}', encoding="utf-8")
    (decp / "registre.json").write_text("{}", encoding="utf-8")
    (decp / "notes").mkdir()


def test_a_month_lands_its_folder_and_earlier_ones(local_settings):
    _inbox(local_settings)
    first = land_inbox(local_settings, "decp", "run-2024-02", NOW, until="2024-02")
    assert sorted(e["original_name"] for e in first.landed) == ["decp_2024-01.json", "decp_2024-02.json",
                                                                 "registre.json"]
    assert {e["original_name"]: e["period"] for e in first.landed}["decp_2024-02.json"] == "2024-02"
    assert first.refused == [{"name": "notes", "reason": "not a regular file"}]
    # a late file of January arrives: the March run catches it up, with March's own file
    (local_settings.inbox_path / "decp" / "2024-01" / "decp_2024-01_bis.json").write_text("[]", encoding="utf-8")
    second = land_inbox(local_settings, "decp", "run-2024-03", NOW, until="2024-03")
    assert sorted(e["original_name"] for e in second.landed) == ["decp_2024-01_bis.json", "decp_2024-03.json"]
    assert len(second.skipped) == 3 and len(read_manifest(local_settings, "decp")) == 5


def test_a_range_lands_only_its_months(local_settings):
    _inbox(local_settings)
    result = land_inbox(local_settings, "decp", "bulk", NOW, since="2024-02", until="2024-03")
    assert sorted(e["original_name"] for e in result.landed) == ["decp_2024-02.json", "decp_2024-03.json",
                                                                  "registre.json"]


def test_generator_files_move_to_their_month_folder(tmp_path):
    fac = tmp_path / "facilitateurs"
    fac.mkdir()
    for name in ("clause75_heures_2024-03.csv", "clause75_heures_2024.csv", "clause75_sorties_2024-11.csv"):
        (fac / name).write_text("x", encoding="utf-8")
    assert to_monthly_folders(tmp_path) == 2
    assert sorted(str(p.relative_to(fac)) for p in fac.rglob("*.csv")) == [
        "2024-03/clause75_heures_2024-03.csv", "2024-11/clause75_sorties_2024-11.csv", "clause75_heures_2024.csv"]
