"""Open data export on a small real pipeline run (local lake): three formats, schemas, official DECP schema,
no small cell, no recoverable cell, CSV neutralisation, public zone copy on the S3 server."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from frictionless import Schema, validate
from frictionless.resources import TableResource

from jobs.core.storage import ObjectStore
from jobs.publish import disclosure as dc
from jobs.publish import opendata as od
from tests.integration.inputs import FORMULA_OBJET

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def opendata(pipeline_run):
    """Open data of the shared run (tests/integration/conftest.py: generated data, whole pipeline)."""
    settings, run, _ = pipeline_run
    report = next(s for s in run["stages"] if s.get("stage") == "publish")["opendata"]
    folder = Path(settings.output_dir) / "opendata"
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    return settings, report, folder, package


def table_names(package) -> list[str]:
    return [r["name"] for r in package["resources"] if r["format"] == "csv"]


def typed_rows(folder: Path, path: str, schema_path: str) -> list[dict]:
    schema = Schema.from_descriptor(str(folder / schema_path))
    with TableResource(path=path, basepath=str(folder), schema=schema) as r:
        return [row.to_dict() for row in r.row_stream]


def _null(v):
    """frictionless reads Parquet nulls of float columns through pandas, as NaN."""
    try:
        return None if v is None or v != v else v
    except TypeError:
        return v


def same(a, b) -> bool:
    a, b = _null(a), _null(b)
    if isinstance(a, float) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b or (a in (None, "") and b in (None, ""))


def test_every_table_exists_in_three_formats_with_equal_rows_and_values(opendata):
    _, report, folder, package = opendata
    assert set(table_names(package)) == {t.split("/", 1)[1] for t in od.GOLD_SPECS} | {od.DECP_NAME}
    for name in table_names(package):
        schema_path = f"schemas/{name}.json"
        csv = typed_rows(folder, f"{name}.csv", schema_path)
        parquet = typed_rows(folder, f"{name}.parquet", schema_path)
        assert len(csv) == len(parquet) == report["tables"][name]["rows"], name
        if name == od.DECP_NAME:
            doc = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
            json_rows = [od.flatten_record(m) | {k: v for k, v in e.items() if k not in ("id", "acheteur_id")}
                         for m, e in zip(doc["marches"]["marche"], doc["observatoire"]["marches"], strict=True)]
            flat = pd.read_parquet(folder / f"{name}.parquet")
            assert len(json_rows) == len(flat)
            for got, row in zip(json_rows, flat.to_dict("records"), strict=True):
                for k, v in got.items():
                    expected = row[k]
                    if k == "observatoire_categories_consideration":
                        v = json.dumps(v, ensure_ascii=False)
                    assert same(v, None if pd.isna(expected) else expected) if not isinstance(
                        expected, list | dict) else v == expected, (k, v, expected)
        else:
            json_rows = typed_rows(folder, f"{name}.json", schema_path)
            assert len(json_rows) == len(parquet), name
            for c_row, p_row, j_row in zip(csv, parquet, json_rows, strict=True):
                for k, pv in p_row.items():
                    assert same(j_row[k], pv), (name, k, j_row[k], pv)
                    assert same(c_row[k], od.neutralize(pv)), (name, k, c_row[k], pv)


def test_datapackage_and_table_schemas_validate(opendata):
    _, _, folder, package = opendata
    assert package["licenses"][0]["name"] == "etalab-2.0" and package["sources"]
    report = validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])[:10]
    assert len(package["resources"]) == 3 * len(table_names(package))


def test_extended_decp_json_validates_against_the_official_schema(opendata, spark):
    from jsonschema import Draft7Validator

    settings, report, folder, _ = opendata
    doc = json.loads((folder / "decp_etendu.json").read_text(encoding="utf-8"))
    schema = json.loads(od.OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"].startswith("http://json-schema.org/draft-07")
    errors = list(Draft7Validator(schema).iter_errors(doc))
    assert errors == []
    marches = doc["marches"]["marche"]
    assert len(marches) == len(doc["observatoire"]["marches"]) == report["tables"]["decp_etendu"]["rows"] > 50
    # Nothing lost: every current 2022-format contract is exported or listed as excluded with its errors.
    n_2022 = spark.read.format("delta").load(settings.table_uri("silver/marches")).filter(
        "decp_format = '2022'").count()
    t = report["tables"]["decp_etendu"]
    assert t["rows"] + t["excluded_not_schema_valid"] == t["contracts_2022_format"] == n_2022
    social = [e for e in doc["observatoire"]["marches"] if e["observatoire_consideration_sociale"]]
    assert social and all(e["observatoire_categories_consideration"] for e in social)
    assert all(set(m) <= set(schema["definitions"]["marche"]["properties"]) for m in marches)


COUNT_COLUMN = re.compile(r"^(population|nb_.*|n_.*|observatoire_n_personnes.*|emploi_.*|sortie_positive)$")
NOT_AGGREGATE = {"observatoire_n_modifications", "observatoire_n_titulaires_structures_inclusion"}
# The sheets' contract counts are public DECP data (decision 97): only persons make their rows small.
PUBLIC_COUNTS = {"fiches_acheteurs": {"n_marches", "n_marches_consideration_sociale"},
                 "fiches_territoires": {"n_marches", "n_marches_consideration_sociale"}}


def test_no_small_cell_in_any_published_file(opendata):
    settings, _, folder, _ = opendata
    t = settings.small_cell_threshold
    frames = {p.name: pd.read_csv(p, keep_default_na=True) for p in folder.glob("*.csv")}
    frames |= {p.name: pd.read_parquet(p) for p in folder.glob("*.parquet")}
    for p in [p for p in folder.glob("*.json") if p.name != "datapackage.json"]:
        doc = json.loads(p.read_text(encoding="utf-8"))
        frames[p.name] = pd.DataFrame(doc["observatoire"]["marches"] if isinstance(doc, dict) else doc)
    scanned = 0
    for name, df in frames.items():
        assert "secret" in df.columns, name
        secret = df["secret"].astype(str).str.lower().isin(["true", "1"])
        public = PUBLIC_COUNTS.get(name.split(".")[0], set())
        for c in [c for c in df.columns if COUNT_COLUMN.match(c) and c not in NOT_AGGREGATE | public]:
            v = pd.to_numeric(df[c], errors="coerce")
            small = (v >= 1) & (v < t)
            assert not (small & ~secret).any(), (name, c, df[small & ~secret].head(3).to_dict("records"))
            assert v[secret].isna().all(), (name, c)  # a suppressed cell shows no value
            scanned += 1
    assert scanned >= 3 * 20


def test_no_suppressed_cell_can_be_recovered_from_totals(opendata):
    folder = opendata[2]
    complementary = 0
    for table, spec in od.GOLD_SPECS.items():
        df = pd.read_parquet(folder / f"{table.split('/', 1)[1]}.parquet")
        assert dc.recoverable(df, spec.margins) == [], table
        complementary += int((df.secret_motif == dc.COMPLEMENTARY).sum())
    assert complementary > 0  # the run does exercise complementary suppression
    # The same, written out for the monthly table: in every month x département, the categories and TOUTES
    # never hold exactly one suppressed cell, nor the months of a year x département x category.
    df = pd.read_parquet(folder / "marches_par_mois_departement.parquet")
    for _, g in df.groupby(["mois", "departement"]):
        assert g.secret.sum() != 1 or len(g) == 1
    for _, g in df.groupby(["annee", "departement", "consideration_sociale"]):
        assert g.secret.sum() != 1 or len(g) == 1
    ben = pd.read_parquet(folder / "beneficiaires.parquet")
    for (annee, dim), g in ben[ben.dimension != "ensemble"].groupby(["annee", "dimension"]):
        total = ben[(ben.annee == annee) & (ben.dimension == "ensemble")]
        assert g.secret.sum() + total.secret.sum() != 1, (annee, dim)


def test_csv_neutralises_formulas_and_keeps_negative_numbers(opendata, spark, tmp_path):
    settings, _, folder, _ = opendata
    # Every published CSV: no text cell a spreadsheet would run (a leading minus only before a number).
    for path in folder.glob("*.csv"):
        text = pd.read_csv(path, dtype=str, keep_default_na=False)
        for c in text.columns:
            assert not text[c].str.match(r"^([=+@\t\r]|-(?![\d.]))").any(), (path.name, c)
    heures = pd.read_csv(folder / "heures_insertion.csv")
    assert pd.api.types.is_numeric_dtype(heures["heures_realisees"])
    # A contract of this run whose objet was published as a formula, through the same export path.
    contracts = od.decp_frame(spark, settings).limit(2).toPandas()
    rec = json.loads(contracts.at[0, "record_json"])
    rec["objet"] = FORMULA_OBJET
    contracts.at[0, "record_json"] = json.dumps(rec)
    flat, doc, _ = od.build_decp(contracts, settings.small_cell_threshold)
    od.write_package({}, flat, doc, tmp_path, "t", settings.small_cell_threshold)
    uid = contracts.at[0, "observatoire_uid"]
    csv = pd.read_csv(tmp_path / "decp_etendu.csv", dtype=str, keep_default_na=False)
    assert csv.loc[csv.observatoire_uid == uid, "objet"].item() == "'" + FORMULA_OBJET
    parquet = pd.read_parquet(tmp_path / "decp_etendu.parquet")
    assert parquet.loc[parquet.observatoire_uid == uid, "objet"].item() == FORMULA_OBJET
    doc = json.loads((tmp_path / "decp_etendu.json").read_text(encoding="utf-8"))
    assert doc["marches"]["marche"][0]["objet"] == FORMULA_OBJET and od.validate_decp_document(doc) == []
    assert float(csv.loc[csv.observatoire_uid == uid, "montant"].item()) == rec["montant"]


def test_files_are_in_the_local_public_zone(opendata):
    settings, report, folder, _ = opendata
    public = Path(settings.zone_uri("public")) / "opendata"
    assert (public / "datapackage.json").read_bytes() == (folder / "datapackage.json").read_bytes()
    assert report["objects_published"] == report["files"] == sum(1 for p in folder.rglob("*") if p.is_file())


@pytest.mark.s3
def test_public_zone_copy_on_the_s3_server_is_readable(opendata, s3_settings):
    _, report, folder, _ = opendata
    store = ObjectStore(s3_settings)
    store.ensure_bucket()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    uris = od.publish_files(files, folder, s3_settings)
    prefix = s3_settings.zone_uri("public") + "/opendata"
    assert prefix.startswith("s3a://") and "/public/opendata" in prefix
    listed = [u for u in store.list(prefix) if not u.endswith("/")]  # S3Proxy's filesystem lists folder markers
    assert listed == sorted(uris) and len(uris) == report["files"]
    assert store.get_bytes(prefix + "/datapackage.json") == (folder / "datapackage.json").read_bytes()
    back = pd.read_parquet(__import__("io").BytesIO(store.get_bytes(prefix + "/decp_etendu.parquet")))
    assert len(back) == report["tables"]["decp_etendu"]["rows"]
