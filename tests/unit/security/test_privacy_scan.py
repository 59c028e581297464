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


def test_a_delta_file_name_is_not_a_phone_but_a_phone_beside_it_is():
    """A CI run failed on a UUID of a Delta file name whose digits looked like a French phone number."""
    log = '{"add":{"path":"annee=2022/part-00000-90aee4a7-0585-4507-89ed-449ff46816a6.c000.snappy.parquet"}}'
    assert scan_text(log, Identifiers(), "x") == []
    assert [f.category for f in scan_text(log + " tel 06 12 34 56 78", Identifiers(), "x")] == ["phone_shaped"]


def test_parquet_cells_are_scanned_one_by_one(tmp_path):
    lake = _lake(tmp_path)
    (lake / "gold" / "t").mkdir(parents=True)
    # dates in neighbouring cells must not make a phone number; a lone surname cell is a finding
    pq.write_table(pa.table({"d": ["2024-03-01", "2024-04-01"], "n": ["Lefèvre", "ok"]}),
                   lake / "gold" / "t" / "part-0.parquet")
    report = scan(lake, tmp_path / "output")
    assert [(f.category, f.where) for f in report.findings] == [("name", "gold/t/part-0.parquet [n]")]
    assert report.identifiers_searched["person_ids"] == 1 and report.files_scanned == 1


def test_birth_dates_are_allowed_in_bronze_participants_own_column_only(tmp_path):
    """Bronze keeps the birth date for the age band (silver drops it): there, in that column, it is no finding;
    in another column of the same table, another table or another zone it is."""
    lake = _lake(tmp_path)
    for table, column in (("bronze/facilitateurs_participants", "date_naissance"),
                          ("bronze/facilitateurs_participants", "commentaire"),
                          ("bronze/facilitateurs_contrats", "date_naissance"),
                          ("silver/participants", "date_naissance")):
        (lake / table).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({column: ["1991-07-14"]}), lake / table / f"part-{column}.parquet")
    found = sorted(f.where for f in scan(lake, tmp_path / "output").findings)
    assert found == ["bronze/facilitateurs_contrats/part-date_naissance.parquet [date_naissance]",
                     "bronze/facilitateurs_participants/part-commentaire.parquet [commentaire]",
                     "silver/participants/part-date_naissance.parquet [date_naissance]"]


def test_identifiers_of_a_one_file_export_are_collected_too(tmp_path):
    raw = tmp_path / "lake" / "raw" / "facilitateurs" / "landed_date=2026-11-28"
    raw.mkdir(parents=True)
    (raw / "0123456789abcdef_mdef93_export_2025-03.csv").write_bytes(
        ("Id operation;Id contrat;Id participant;Nom;Prénom;Mois;Heures\n"
         "OP1;C1;P-77;Girard;Noémie;03/2025;35\n").encode("cp1252"))
    ids, n_files = collect_identifiers(tmp_path / "lake" / "raw")
    assert n_files == 1 and ids.person_ids == {"P-77"} and ids.names == {"Girard", "Noémie"}
