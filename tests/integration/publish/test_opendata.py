"""Open data export on a small real pipeline run (local lake): three formats, schemas, official DECP schema,
no small cell, the disclosure audit passing (run by the publication and by its command), public figures never
hidden, no missing-value text, CSV neutralisation, public zone copy on the S3 server."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from frictionless import Schema, validate
from frictionless.resources import TableResource

from jobs import pipeline
from jobs.core.storage import ObjectStore
from jobs.publish import opendata as od
from jobs.publish import secrecy
from tests.integration.conftest import RUN_ID
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
    assert set(table_names(package)) == {t.split("/", 1)[1] for t in od.TABLES} | {od.DECP_NAME}
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


def published_frames(folder: Path) -> dict[str, pd.DataFrame]:
    """Every published table in every format, as an outsider reads it."""
    frames = {p.name: pd.read_csv(p, keep_default_na=True) for p in folder.glob("*.csv")}
    frames |= {p.name: pd.read_parquet(p) for p in folder.glob("*.parquet")}
    for p in [p for p in folder.glob("*.json") if p.name != "datapackage.json"]:
        doc = json.loads(p.read_text(encoding="utf-8"))
        frames[p.name] = pd.DataFrame(doc["observatoire"]["marches"] if isinstance(doc, dict) else doc)
    return frames


def test_no_small_cell_in_any_published_file(opendata):
    """A figure counting persons is shown only when it is 0 or at least the threshold; a hidden one is empty
    and flagged; a row about too few persons shows none of its sensitive figures."""
    settings, _, folder, _ = opendata
    policy = secrecy.load_policy(threshold=settings.small_cell_threshold)
    t = policy.threshold
    scanned = 0
    for name, df in published_frames(folder).items():
        table = name.split(".")[0]
        tp = policy.tables.get(f"gold/{table}") or policy.tables[table]
        assert "secret" in df.columns, name
        rows = ~tp.public_mask(df)
        for m in [m for m in tp.sensitive if m.kind == secrecy.COUNT]:
            v = pd.to_numeric(df[m.column], errors="coerce")
            if m.frequency or m.column == tp.contributors:
                assert not (rows & v.between(1, t - 1)).any(), (name, m.column, df[rows & v.between(1, t - 1)].head(3))
            flag = df[f"secret_{m.column}"].astype(str).str.lower().isin(["true", "1"])
            assert v[flag].isna().all(), (name, m.column)  # a hidden figure shows no value
            scanned += 1
        if tp.contributors:
            n = pd.to_numeric(df[tp.contributors], errors="coerce")
            for m in tp.sensitive:
                assert pd.to_numeric(df.loc[rows & n.between(1, t - 1), m.column], errors="coerce").isna().all()
    assert scanned >= 3 * 9


def test_the_disclosure_audit_finds_nothing_recoverable(opendata, pipeline_run):
    """The publication audited its own files; the command does it again from gold and the files on disk."""
    settings = opendata[0]
    run = pipeline_run[1]
    audit = next(s for s in run["stages"] if s.get("stage") == "publish")["disclosure_audit"]
    assert audit["ok"] and audit["failed"] == 0, audit["failures"]
    assert audit["figures_hidden_primary"] > 0 and audit["pages"] > 10 and audit["page_figures"] > 50
    assert audit["narrowest"]["ratio"] >= 1
    again = pipeline.audit_disclosure(RUN_ID, settings)
    assert again["failed"] == 0 and again["tables"] == audit["tables"]


def test_public_figures_are_never_hidden(opendata, spark):
    """DECP counts and amounts, and the charter's contractual figures, are published whole: as in gold."""
    settings, _, folder, _ = opendata
    policy = secrecy.load_policy()
    checked = 0
    for table in od.TABLES:
        tp = policy.tables[table]
        gold = spark.read.format("delta").load(settings.table_uri(table)).toPandas()
        published = pd.read_parquet(folder / f"{table.split('/', 1)[1]}.parquet")
        assert len(published) == len(gold), table
        for c in [c for c in tp.public if c in gold.columns]:
            assert published[c].notna().sum() == gold[c].notna().sum(), (table, c)
            checked += 1
    decp = pd.read_parquet(folder / "decp_etendu.parquet")
    assert decp["montant"].notna().all() and decp["observatoire_montant_actuel"].notna().all()
    assert checked >= 20


def test_no_missing_value_text_in_the_open_data(opendata):
    """Missing figures are empty (CSV) or null (JSON, Parquet): never the text NaN, None or <NA>."""
    folder = opendata[2]
    for path in folder.rglob("*"):
        if path.suffix in (".csv", ".json"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"(^|[,\[:\s\"])(NaN|nan|None|<NA>|NaT)($|[,\]}\s\"])", text, re.M), path.name
    for path in folder.glob("*.parquet"):
        df = pd.read_parquet(path)
        for c in df.columns:
            if df[c].dtype == object:
                assert not df[c].isin(["nan", "None", "<NA>", "NaN"]).any(), (path.name, c)


def test_few_rows_are_hidden_in_any_table(opendata):
    """Tables are published at grains where most cells can be shown: on the demo (3,000 contracts over eight
    years) at most 30 % of any table's rows hold a hidden figure (docs/disclosure.md, measured there). This run
    has 500 contracts over three years, so fewer persons per cell: no table of some size is mostly hidden (a
    table of three yearly rows says little either way)."""
    _, report, _, _ = opendata
    for name, t in report["tables"].items():
        assert t["rows"] < 20 or t["rows_secret"] <= 0.5 * t["rows"], (name, t)
    assert sum(t["rows_secret"] for t in report["tables"].values()) > 0


def test_csv_neutralises_formulas_and_keeps_negative_numbers(opendata, spark, tmp_path):
    settings, _, folder, _ = opendata
    # Every published CSV: no text cell a spreadsheet would run (a leading minus only before a number).
    for path in folder.glob("*.csv"):
        text = pd.read_csv(path, dtype=str, keep_default_na=False)
        for c in text.columns:
            assert not text[c].str.match(r"^([=+@\t\r]|-(?![\d.]))").any(), (path.name, c)
    heures = pd.read_csv(folder / "heures_departement.csv")
    assert pd.api.types.is_numeric_dtype(heures["heures_realisees"])
    # A contract of this run whose objet was published as a formula, through the same export path.
    contracts = od.decp_frame(spark, settings).limit(2).toPandas()
    rec = json.loads(contracts.at[0, "record_json"])
    rec["objet"] = FORMULA_OBJET
    contracts.at[0, "record_json"] = json.dumps(rec)
    flat, officials, _ = od.build_decp(contracts)
    persons = secrecy.publish({"decp_etendu": od.decp_persons(flat)}, secrecy.NO_FIGURES, secrecy.load_policy())
    flat = od.with_protected(flat, persons["decp_etendu"])
    od.write_package({}, flat, od.decp_document(flat, officials), tmp_path, "t", settings.small_cell_threshold)
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
