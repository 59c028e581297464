"""Open data files: CSV formula neutralisation, conformance of the extended DECP to the official schema."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from jobs.core.settings import PROJECT_ROOT
from jobs.publish import opendata as od


@pytest.mark.parametrize("value,expected", [
    ("=SUM(A1:A2)", "'=SUM(A1:A2)"), ("+33 1 23", "'+33 1 23"), ("-2+3", "'-2+3"), ("@cmd", "'@cmd"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Travaux", "Travaux"), (-12.5, -12.5), (-3, -3), (None, None)])
def test_formula_neutralisation(value, expected):
    assert od.neutralize(value) == expected


def test_csv_neutralises_text_but_keeps_negative_numbers(tmp_path):
    df = pd.DataFrame({"objet": ["=HYPERLINK(\"http://x\")", "-Lot 2", "Nettoyage"], "montant": [-10.5, 3.0, 1.0],
                       "n": [-1, 2, 3]})
    paths = od.write_table_files(df, tmp_path, "t")
    back = pd.read_csv(paths["csv"])
    assert back.objet.tolist() == ["'=HYPERLINK(\"http://x\")", "'-Lot 2", "Nettoyage"]
    assert back.montant.tolist() == [-10.5, 3.0, 1.0] and back.n.tolist() == [-1, 2, 3]
    assert pd.read_parquet(paths["parquet"]).objet.tolist() == df.objet.tolist()  # only the CSV is altered


def test_official_examples_conform_to_the_official_schema():
    doc = json.loads((PROJECT_ROOT / "samples/decp/format-2022-v2/json_marches_avec_modifications.json")
                     .read_text(encoding="utf-8"))
    recs = [od.official_record(json.dumps(m)) for m in doc["marches"]["marche"]]
    assert recs and all(od.record_errors(r) == [] for r in recs)
    assert od.validate_decp_document({"marches": {"marche": recs}}) == []
    # Text typed as the schema says (as XML gives it); what cannot be typed still fails.
    rec = dict(recs[0], offresRecues="4", marcheInnovant="false", dureeMois="12.0")
    typed = od.conform(rec, od.official_schema()["definitions"]["marche"])
    assert (typed["offresRecues"], typed["marcheInnovant"], typed["dureeMois"]) == (4, False, 12)
    xml_shaped = dict(rec, techniques=[{"technique": "Sans objet"}], nature="MARCHE",
                      titulaires=[{"id": "55204599900869", "typeIdentifiant": "SIRET"}, {}])
    typed = od.conform(xml_shaped, od.official_schema()["definitions"]["marche"])
    assert typed["techniques"] == {"technique": ["Sans objet"]} and typed["nature"] == "Marché"
    assert typed["titulaires"] == [{"titulaire": {"id": "55204599900869", "typeIdentifiant": "SIRET"}}]
    assert od.record_errors(typed) == []
    assert od.record_errors(od.conform(dict(rec, offresRecues="beaucoup"),
                                       od.official_schema()["definitions"]["marche"]))


def test_holders_identified_by_a_variant_of_an_official_type_stay_in_the_extended_decp():
    doc = json.loads((PROJECT_ROOT / "samples/decp/format-2022-v2/json_marches_avec_modifications.json")
                     .read_text(encoding="utf-8"))
    marche = od.official_schema()["definitions"]["marche"]
    for published, official in (("TVA-intracommunautaire", "TVA"), ("TVA intracommunautaire", "TVA"),
                                ("HORS_UE", "HORS-UE"), ("FRW", "FRWF"), ("tva", "TVA")):
        rec = dict(doc["marches"]["marche"][0],
                   titulaires=[{"titulaire": {"typeIdentifiant": published, "id": "DE814864138"}}])
        typed = od.conform(rec, marche)
        assert typed["titulaires"] == [{"titulaire": {"typeIdentifiant": official, "id": "DE814864138"}}]
        assert od.record_errors(typed) == [], published
    # titulaires nested in lists (real files, generator dirt) are one list of wrapped titulaires
    nested = dict(doc["marches"]["marche"][0], titulaires=[[{"titulaire": {"typeIdentifiant": "SIRET",
                                                                          "id": "55204599900869"}}, {}]])
    typed = od.conform(nested, marche)
    assert typed["titulaires"] == [{"titulaire": {"typeIdentifiant": "SIRET", "id": "55204599900869"}}]
    assert od.record_errors(typed) == []
    # a value no list knows is kept as published (and fails validation): nothing is invented
    rec = dict(doc["marches"]["marche"][0], titulaires=[{"titulaire": {"typeIdentifiant": "DUNS", "id": "1"}}])
    assert od.record_errors(od.conform(rec, marche))


def test_fast_validator_agrees_with_jsonschema_on_real_and_broken_records():
    """fastjsonschema only clears records quickly: it must accept exactly what jsonschema accepts."""
    from jsonschema import Draft7Validator

    marche = od.official_schema()["definitions"]["marche"]
    records = []
    for name in ("format-2022-v2/json_marches_avec_modifications.json", "format-2022-v2/json_marches_concessions.json",
                 "dirty/decp-processing_decp_test_2022.json"):
        doc = json.loads((PROJECT_ROOT / "samples/decp" / name).read_text(encoding="utf-8"))
        records += [od.conform(m, marche) for m in (doc.get("marches") or {}).get("marche", []) if isinstance(m, dict)]
    broken = [dict(records[0], offresRecues="beaucoup"), dict(records[0], montant="cher"), {"id": 3},
              dict(records[0], titulaires=[{"titulaire": {"id": 55204599900869}}]), {}]
    slow = Draft7Validator({**od.official_schema(), "$ref": "#/definitions/marche"})
    verdicts = [(od._passes("#/definitions/marche", r), slow.is_valid(r)) for r in records + broken]
    assert len(records) >= 5 and all(fast == jsonschema for fast, jsonschema in verdicts), verdicts
    assert [fast for fast, _ in verdicts[-len(broken):]] == [False] * len(broken)
    assert any(fast for fast, _ in verdicts)  # real records pass
    assert records[0] == od.conform(records[0], marche)  # validation wrote no default into the data
    assert "raw.githubusercontent" not in json.dumps(od.official_schema()["definitions"]["marche"]["properties"])
