"""Small-cell and complementary suppression (pure pandas), CSV formula neutralisation, DECP conformance."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from jobs.core.settings import PROJECT_ROOT
from jobs.publish import disclosure as dc
from jobs.publish import opendata as od

THRESHOLD = 5
MONTHLY = dc.TableSpec(
    dims=("mois", "departement", "consideration_sociale"), counts=("nb_marches",),
    margins=(dc.Margin(("mois", "departement"), {"consideration_sociale": "TOUTES"}),))


def monthly_table() -> pd.DataFrame:
    """One month x département: three categories and their TOUTES total (categories add up to it)."""
    rows = [("2024-01", "93", "CLAUSE_SOCIALE", 3, 30.0), ("2024-01", "93", "AUCUNE", 12, 120.0),
            ("2024-01", "93", "INCONNU", 8, 80.0), ("2024-01", "93", "TOUTES", 23, 230.0),
            ("2024-01", "75", "CLAUSE_SOCIALE", 9, 90.0), ("2024-01", "75", "AUCUNE", 11, 110.0),
            ("2024-01", "75", "TOUTES", 20, 200.0)]
    return pd.DataFrame(rows, columns=["mois", "departement", "consideration_sociale", "nb_marches", "montant"])


def test_a_small_cell_alone_in_its_margin_would_be_recovered_by_subtraction():
    df = monthly_table()
    primary_only = df.assign(secret=dc.small_cells(df, ["nb_marches"], THRESHOLD))
    # Without complementary suppression: TOUTES - the other published cells gives the hidden 3 back.
    assert primary_only["secret"].sum() == 1
    assert len(dc.recoverable(primary_only, MONTHLY.margins)) == 1
    hidden = primary_only[primary_only.secret]
    visible = primary_only[~primary_only.secret & (primary_only.departement == "93")]
    total = visible.loc[visible.consideration_sociale == "TOUTES", "nb_marches"].item()
    others = visible.loc[visible.consideration_sociale != "TOUTES", "nb_marches"].sum()
    assert total - others == hidden.nb_marches.item()


def test_complementary_suppression_hides_the_smallest_other_cell():
    out = dc.suppress(monthly_table(), MONTHLY, THRESHOLD)
    secret = out[out.secret]
    assert set(zip(secret.departement, secret.consideration_sociale, secret.secret_motif, strict=True)) == {
        ("93", "CLAUSE_SOCIALE", "primaire"), ("93", "INCONNU", "complementaire")}
    assert secret[["nb_marches", "montant"]].isna().all().all()
    assert not dc.recoverable(out, MONTHLY.margins)
    assert out.loc[~out.secret, "nb_marches"].notna().all()
    assert (out.loc[out.departement == "75", "nb_marches"] == [9, 11, 20]).all()  # nothing to protect there


def test_suppression_propagates_across_crossing_margins_until_nothing_is_recoverable():
    # A 3x3 table with row and column totals published elsewhere: hiding one cell per row is not enough
    # when a column then holds a single hidden cell.
    cells = {("a", "x"): 2, ("a", "y"): 10, ("a", "z"): 20, ("b", "x"): 30, ("b", "y"): 40, ("b", "z"): 50,
             ("c", "x"): 60, ("c", "y"): 70, ("c", "z"): 80}
    df = pd.DataFrame([(r, c, n) for (r, c), n in cells.items()], columns=["r", "c", "n"])
    spec = dc.TableSpec(dims=("r", "c"), counts=("n",), margins=(dc.Margin(("r",)), dc.Margin(("c",))))
    out = dc.suppress(df, spec, THRESHOLD)
    assert not dc.recoverable(out, spec.margins)
    assert set(zip(out[out.secret].r, out[out.secret].c, strict=True)) == {("a", "x"), ("a", "y"), ("b", "x"),
                                                                          ("b", "y")}


def test_a_small_total_is_protected_by_hiding_a_component():
    df = pd.DataFrame([("F", 2), ("H", 2), ("ensemble", 4)], columns=["valeur", "n"]).assign(annee=2024,
                                                                                        dimension="sexe")
    df.loc[2, "dimension"], df.loc[2, "valeur"] = "ensemble", "TOTAL"
    spec = dc.TableSpec(dims=("annee", "dimension", "valeur"), counts=("n",),
                        margins=(dc.Margin(("annee", "dimension"), {"dimension": "ensemble", "valeur": "TOTAL"},
                                           {"dimension": ("sexe",)}),))
    out = dc.suppress(df, spec, THRESHOLD)
    assert out.secret.all()


def test_zero_is_not_a_small_cell_and_the_gold_flag_is_honoured():
    df = pd.DataFrame({"k": ["a", "b", "c"], "n": [0, 7, 9], "secret_statistique": [False, False, True]})
    out = dc.suppress(df, dc.TableSpec(dims=("k",), counts=("n",)), THRESHOLD)
    assert out.secret.tolist() == [False, False, True]
    assert "secret_statistique" not in out.columns


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
