"""A new facilitator in a day (issue 19), through the real stages on small lakes: a one-file cp1252 export
declared in a folder of its own gives the same silver rows as the six-file layout of the same data; the
profile -> mapping -> requalify loop takes a line out of quarantine; wrong declarations load nothing; the
large-file reader (Spark's CSV splits) maps a SIRENE stock as the line-by-line reader would."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from generator.core import FacilitatorDirt, generate_all
from jobs import pipeline
from jobs.core.delta_io import table_exists
from schemas.declarations import DeclarationError
from tests.conftest import local_settings_at

# What the steward of the "Clause"-like software writes, in a folder outside the repository.
DECLARATION = """facilitateur: clause93
columns:
  operations.facilitateur_marche_id: "N° opé"
  operations.modalite_juridique: "Base juridique"
  operations.heures_objectif: "Heures contractuelles"
  entreprises.raison_sociale: "Employeur"
  entreprises.role: "Rôle employeur"
  entreprises.type_structure: "Type employeur"
  participants.participant_id: "Réf. personne"
  participants.sexe: "H/F"
  contrats.contrat_id: "Réf. contrat"
  heures.heures_realisees: "Heures du mois"
"""
MAPPING = """values:
  operations.modalite_juridique: {"clause spéciale n°7": CLAUSE_EXECUTION_L2112_2}
"""
UNKNOWN_LABEL = "clause spéciale n°7"  # the generator's unknown legal modality
# Dirt that both layouts can carry alike (an invalid SIRET would be the employer's on a one-file line too); with
# this seed, 0.35 gives clause93 two operations under the unknown label (0.2 gave none).
DIRT = FacilitatorDirt(negative_hours=0.0, hours_outside_contract=0.0, unknown_modality_label=0.35,
                       invalid_siret=0.0)
SILVER = ["silver/operations", "silver/entreprises_operations", "silver/participants", "silver/contrats_insertion",
          "silver/heures_insertion", "silver/sorties"]
LINEAGE = {"source_file", "source_sha256", "record_index", "load_id", "ingested_at"}


@pytest.fixture(scope="module")
def lakes(spark, tmp_path_factory):
    """The same generated facilitators' data twice: clause93 in six files, then as one file per year."""
    root = tmp_path_factory.mktemp("onboarding")
    declarations = root / "declarations"
    declarations.mkdir()
    (declarations / "clause93.yaml").write_text(DECLARATION, encoding="utf-8")
    out = {}
    for layout, wide in (("six_files", ()), ("one_file", ("clause93",))):
        settings = local_settings_at(root / layout, sources_dir=str(declarations))
        generate_all(settings.inbox_path, 160, date(2025, 1, 1), date(2025, 8, 1), seed=19, facilitator_dirt=DIRT,
                     sources=("decp", "facilitateurs"), wide_facilitators=wide)
        sources = ("decp", "facilitateurs") if wide else ("facilitateurs",)
        for source in sources:
            pipeline.land_source(source, "load_1", settings)
        bronze = pipeline.bronze_sources("load_1", settings, sources)
        # the whole transform where requalify will run (it needs DECP's silver), the facilitators' silver elsewhere
        transformed = pipeline.transform("load_1", settings) if wide else [pipeline.silver_sources("load_1", settings)]
        report = pipeline.write_run_report("load_1", [*bronze, *transformed], settings)  # raises when unbalanced
        out[layout] = (settings, bronze, report)
    return out


def rows(spark, settings, table):
    df = spark.read.format("delta").load(settings.table_uri(table))
    cols = sorted(c for c in df.columns if c not in LINEAGE)
    return sorted(tuple(str(r[c]) for c in cols) for r in df.select(*cols).collect()), cols


@pytest.mark.slow  # runs the stages on two lakes (module fixture)
def test_a_one_file_export_declared_outside_the_repository_gives_the_six_file_silver_rows(lakes, spark):
    (six, _, _), (wide, bronze, _) = lakes["six_files"], lakes["one_file"]
    assert sorted(p.name for p in (wide.inbox_path / "facilitateurs").glob("clause93_*")) == [
        "clause93_export_2025.csv"]
    for table in SILVER:
        expected, cols = rows(spark, six, table)
        got, got_cols = rows(spark, wide, table)
        assert got_cols == cols and got == expected, table
    ops = spark.read.format("delta").load(wide.table_uri("silver/operations")).filter("facilitateur = 'clause93'")
    heures = spark.read.format("delta").load(wide.table_uri("silver/heures_insertion")).filter(
        "facilitateur = 'clause93'")
    assert ops.count() > 0 and heures.count() > 0
    # how the export was written, in bronze lineage
    lineage = spark.read.format("delta").load(wide.table_uri("bronze/facilitateurs_heures")).filter(
        "facilitateur = 'clause93'").select("source_layout", "source_encoding", "source_delimiter",
                                            "source_line_ending", "source_decimal", "source_date_formats").distinct()
    assert [tuple(r) for r in lineage.collect()] == [
        ("wide:operations+entreprises+participants+contrats+heures", "cp1252", ";", "CRLF", ",",
         "dd/mm/yyyy,mm/yyyy")]  # no outcome yet: eight months are too few for a six-month situation
    [facilitateurs] = [b for b in bronze if b["stage"] == "bronze_facilitateurs"]
    [export] = facilitateurs["one_file_exports"]
    assert export["file"] == "clause93_export_2025.csv" and export["dropped_columns"] == ["Nom", "Prénom",
                                                                                          "Téléphone"]
    heures_report = next(t for t in facilitateurs["tables"] if t.get("table") == "bronze/facilitateurs_heures")
    assert heures_report["details"]["from_one_file_exports"]["rows"] == export["rows"]["heures"]
    assert all(t["rows_in"] == t["rows_written"] + t["rows_quarantined"] for t in facilitateurs["tables"])


@pytest.mark.slow  # runs the stages on two lakes (module fixture)
def test_the_wide_file_is_loaded_once(lakes):
    wide, _, _ = lakes["one_file"]
    again = pipeline.bronze_source("facilitateurs", "load_2", wide)
    assert again["tables"] == []


@pytest.mark.slow  # runs the stages on two lakes (module fixture)
def test_profile_then_mapping_then_requalify_takes_the_line_out_of_quarantine(lakes, spark, tmp_path):
    settings, _, _ = lakes["one_file"]
    export = settings.inbox_path / "facilitateurs" / "clause93_export_2025.csv"
    quarantined = spark.read.format("delta").load(settings.table_uri("quarantine/operations")).filter(
        F.array_contains("rule_ids", "operations.modalite_juridique_mapped")
        & F.col("raw_json").contains('"facilitateur":"clause93"'))
    n_refused = quarantined.count()
    assert n_refused > 0
    profile = pipeline.profile(str(export), write_declaration=str(tmp_path / "draft.yaml"), settings=settings)
    [to_map] = [u for u in profile["unmapped"] if u["column"] == "operations.modalite_juridique"]
    assert to_map["value"] == UNKNOWN_LABEL and to_map["rows"] == n_refused
    assert f'    # "{UNKNOWN_LABEL}": <code>' in (tmp_path / "draft.yaml").read_text(encoding="utf-8")
    # the steward maps the label in the facilitator's declaration, then requalifies: bronze is not read again
    declaration = Path(settings.sources_dir) / "clause93.yaml"
    declaration.write_text(DECLARATION + MAPPING, encoding="utf-8")
    try:
        result = pipeline.requalify("clause93", "requalify_1", settings)
        assert result["labels_to_map_before"] - result["labels_to_map_after"] == 1
        assert result["values_to_map_before"] - result["values_to_map_after"] == n_refused
        assert quarantined.count() == 0
        ops = spark.read.format("delta").load(settings.table_uri("silver/operations")).filter(
            "facilitateur = 'clause93' and modalite_juridique = 'CLAUSE_EXECUTION_L2112_2'")
        assert ops.count() == n_refused
        bronze = spark.read.format("delta").load(settings.table_uri("bronze/facilitateurs_operations")).filter(
            "facilitateur = 'clause93'")
        assert bronze.filter(F.col("modalite_juridique") == UNKNOWN_LABEL).count() == n_refused  # raw label kept
        assert bronze.select("load_id").distinct().count() == 1  # nothing loaded again
        assert pipeline.profile(str(export), settings=settings)["unmapped"] == [
            u for u in profile["unmapped"] if u["column"] != "operations.modalite_juridique"]
    finally:
        declaration.write_text(DECLARATION, encoding="utf-8")


@pytest.mark.parametrize(("text", "problem"), [
    (DECLARATION + "colonnes: {}\n", "clause93.yaml: key 'colonnes': unknown key; expected one of"),
    (DECLARATION.replace("heures.heures_realisees", "heures.heures_faites"),
     "clause93.yaml: key 'columns.heures.heures_faites': unknown canonical field: heures has no column "
     "'heures_faites'"),
    (None, "clause93.yaml: key 'facilitateur': 'clause93' is already declared in clause93-copie.yaml"),
], ids=["unknown-key", "unknown-field", "duplicate-id"])
def test_wrong_declarations_load_nothing(spark, tmp_path, text, problem):
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    (declarations / "clause93.yaml").write_text(text or DECLARATION, encoding="utf-8")
    if text is None:
        (declarations / "clause93-copie.yaml").write_text(DECLARATION, encoding="utf-8")
    settings = local_settings_at(tmp_path, sources_dir=str(declarations))
    generate_all(settings.inbox_path, 20, date(2025, 1, 1), date(2025, 2, 1), seed=5,
                 sources=("decp", "facilitateurs"), wide_facilitators=("clause93",))
    for source in ("decp", "facilitateurs"):
        pipeline.land_source(source, "r", settings)
    with pytest.raises(DeclarationError) as exc:
        pipeline.bronze_sources("r", settings, ("decp", "facilitateurs"))
    assert len(exc.value.problems) == 1 and exc.value.problems[0].startswith(problem)
    for table in ("bronze/decp_marches", "bronze/facilitateurs_operations", "quarantine/files"):
        assert not table_exists(spark, settings.table_uri(table)), table


STOCK = (  # the official StockEtablissement header (first columns), UTF-8 with a BOM, CRLF
    "\ufeffsiren,nic,siret,statutDiffusionEtablissement,dateCreationEtablissement,trancheEffectifsEtablissement,"
    "activitePrincipaleEtablissement,complementAdresseEtablissement,codeCommuneEtablissement,"
    "etatAdministratifEtablissement\r\n"
    "552081317,00026,55208131700026,O,1955-01-01,22,46.46Z,\"Bât. A, 3e étage\",93066,A\r\n"
    "356000000, 00048 ,35600000000048,O,,,53.10Z,,75056,A\r\n"
    "833922843,00015,83392284300015,P\r\n"
    "\r\n"
)


def test_a_sirene_stock_is_read_by_spark_in_splits_as_the_line_reader_would(spark, tmp_path):
    settings = local_settings_at(tmp_path)
    folder = settings.inbox_path / "sirene"
    folder.mkdir(parents=True)
    (folder / "StockEtablissement_utf8.csv").write_bytes(STOCK.encode("utf-8"))
    pipeline.land_source("sirene", "r", settings)
    [report] = pipeline.bronze_source("sirene", "r", settings)["tables"]
    assert report["details"]["reader"] == "spark_csv"
    assert (report["rows_in"], report["rows_written"], report["details"]["rows_with_issue"]) == (3, 3, 1)
    df = spark.read.format("delta").load(settings.table_uri("bronze/sirene_etablissements"))
    got = {r.siret: (r.nic, r.dateCreationEtablissement, r.activitePrincipaleEtablissement, r.extra_fields,
                     r.row_issue, r.source_encoding, r.source_line_ending, r.source_date_formats)
           for r in df.collect()}
    assert got == {
        "55208131700026": ("00026", "1955-01-01", "46.46Z", '{"complementAdresseEtablissement":"Bât. A, 3e étage"}',
                           None, "utf-8-sig", "CRLF", "yyyy-mm-dd"),
        "35600000000048": ("00048", None, "53.10Z", None, None, "utf-8-sig", "CRLF", "yyyy-mm-dd"),
        "83392284300015": ("00015", None, None, None, "wrong number of fields (the header has 10)", "utf-8-sig",
                           "CRLF", "yyyy-mm-dd"),
    }
