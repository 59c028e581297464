"""The privacy scanner itself, without Spark: what it collects from raw files and what it reports."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from jobs.ops.privacy_scan import Identifiers, collect_identifiers, scan, scan_text

RAW = ("Identifiant participant;Nom;Prénom;Date de naissance;Courriel;NIR;Téléphone\n"
       "VX-000001;Lefèvre;Anaïs;14/07/1991;anais.lefevre@example.fr;291077512345622;06 11 22 33 44\n")


def _lake(tmp_path):
    raw = tmp_path / "lake" / "raw" / "facilitateurs" / "landed_date=2026-11-28"
    raw.mkdir(parents=True)
    (raw / "0123456789abcdef_ville-x_participants_2024.csv").write_text(RAW, encoding="utf-8")
    return tmp_path / "lake"


def test_identifiers_come_from_the_raw_columns_of_each_kind(tmp_path):
    ids, n_files = collect_identifiers(_lake(tmp_path) / "raw")
    assert n_files == 1
    assert ids.person_ids == {"VX-000001"} and ids.birth_dates == {"1991-07-14"}
    assert ids.names == {"Lefèvre", "Anaïs"} and ("anaïs", "lefèvre") in ids.full_names
    assert ids.phones == {"0611223344"} and ids.nirs == {"291077512345622"}


def test_every_form_of_an_identifier_is_found_and_neighbouring_values_are_not():
    ids = Identifiers(person_ids={"VX-000001"}, full_names={("anaïs", "lefèvre"), ("lefèvre", "anaïs")},
                      birth_dates={"1991-07-14"}, phones={"0611223344"}, emails={"a@b.fr"})
    text = "id VX-000001, LEFÈVRE Anaïs born 1991-07-14 / 14/07/1991, +33 6 11 22 33 44, A@b.fr"
    assert {f.category for f in scan_text(text, ids, "x")} == {"person_id", "full_name", "birth_date", "phone",
                                                               "email"}
    # ids inside longer tokens, other dates, SIRET numbers, amounts: nothing
    assert scan_text("XVX-000001 2024-03-01 73282932000074 1234567.89 Anaïs Dupont", ids, "x") == []


def test_parquet_cells_are_scanned_one_by_one(tmp_path):
    lake = _lake(tmp_path)
    (lake / "gold" / "t").mkdir(parents=True)
    # dates in neighbouring cells must not make a phone number; a lone surname cell is a finding
    pq.write_table(pa.table({"d": ["2024-03-01", "2024-04-01"], "n": ["Lefèvre", "ok"]}),
                   lake / "gold" / "t" / "part-0.parquet")
    report = scan(lake, tmp_path / "output")
    assert [(f.category, f.where) for f in report.findings] == [("name", "gold/t/part-0.parquet [n]")]
    assert report.identifiers_searched["person_ids"] == 1 and report.files_scanned == 1
