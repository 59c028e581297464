import json

from jobs.silver.decp_normalize import normalize_marche, parse_date, resolve_departement
from tests.conftest import SAMPLES


def load(path, index=0):
    doc = json.loads(path.read_text(encoding="utf-8"))
    marches = doc["marches"]
    items = marches if isinstance(marches, list) else marches["marche"]
    return items[index]


def rule_ids(out):
    return [i["rule_id"] for i in out["issues"]]


def test_2019_record_has_unknown_social_considerations_not_none():
    out = normalize_marche(load(SAMPLES / "format-2019-v1.5" / "json_paquet.json"), "2019")
    assert out["considerations_sociales"] is None
    assert out["uid"] == "21350238800019" + "2010345211200"
    assert out["nature"] == "Accord-cadre" and out["is_accord_cadre"] is True
    assert [t["id"] for t in out["titulaires"]] == ["81223113200026", "DE814864138"]
    assert out["departement_execution"] == "35"


def test_2022_wrappers_are_unwrapped_and_modifications_applied_in_date_order():
    out = normalize_marche(load(SAMPLES / "format-2022-v2" / "json_marches_avec_modifications.json"), "2022")
    assert out["considerations_sociales"] == ["Clause sociale", "Critère social"]
    # the single modification carries new totals and a new titulaire list
    assert out["montant"] == 123457.87
    assert out["duree_mois"] == 12
    assert [t["id"] for t in out["titulaires"]] == ["868768687576575"]
    assert out["code_cpv"] == "45000000"
    assert out["departement_execution"] == "75" and out["departement_method"] == "prefix"


def test_flattened_acheteur_key_and_nested_titulaire_lists():
    rec = load(SAMPLES / "dirty" / "decp-processing_decp_test_2019.json", 0)
    out = normalize_marche(rec, "2019")
    assert out["acheteur_id"] == "21500222100012"
    assert out["montant"] == 79237  # the modification's new total
    assert [t["id"] for t in out["titulaires"]] == ["12345678900022"]


def test_nc_duration_is_reported_with_its_raw_value():
    out = normalize_marche({"id": "1", "acheteur": {"id": "1"}, "dureeMois": "NC"}, "2022")
    assert out["duree_mois"] is None
    assert any(i["rule_id"] == "decp.duree_mois_valid" and "'NC'" in i["message"] for i in out["issues"])


def test_enum_variants_are_normalised_and_unknown_values_reported():
    rec = {"nature": "MARCHE", "procedure": "Procédure négociée avec mise en concurrence préalable",
           "considerationsSociales": {"considerationSociale": ["Maerché réservé", "Oui"]}}
    out = normalize_marche(rec, "2022")
    assert out["nature"] == "Marché"
    assert out["procedure"] == "Procédure avec négociation"
    assert out["considerations_sociales"] == ["Marché réservé"]
    assert rule_ids(out) == ["decp.considerations_known"]


def test_single_titulaire_object_and_empty_blocks():
    out = normalize_marche({"titulaires": {"titulaire": {"id": "552 045 999 00869"}}}, "2022")
    assert out["titulaires"] == [{"type_identifiant": "SIRET", "id": "55204599900869", "denomination": None}]
    out = normalize_marche({"titulaires": [{}, {"titulaire": {}}]}, "2022")
    assert out["n_titulaires"] == 0


def test_record_that_is_not_an_object():
    assert rule_ids(normalize_marche("oops", "2022")) == ["decp.record_shape"]


def test_date_shapes():
    assert parse_date("2019-04-25+02:00") == "2019-04-25"
    assert parse_date("2019-1-5") == "2019-01-05"
    assert parse_date("2021-09-16T00:00:00") == "2021-09-16"
    assert parse_date("0002-11-30") == "0002-11-30"  # kept: the date rule rejects it with a message
    assert parse_date("September, 16 2021") is None
    assert parse_date("2021-02-30") is None


def test_departement_resolution():
    assert resolve_departement("93200", "Code postal") == ("93", "code_postal")
    assert resolve_departement("93066", "Code commune") == ("93", "commune_insee")
    assert resolve_departement("92", "Code département") == ("92", "departement")
    assert resolve_departement("35238", "Code commune") == ("35", "prefix")
    assert resolve_departement("97411", "Code commune") == ("974", "prefix")
    assert resolve_departement("11", "Code région") == (None, "not_departemental")
    assert resolve_departement(None, None) == (None, "absent")
    # mix-ups between postal and INSEE codes are resolved and recorded
    assert resolve_departement("93066", "Code postal") == ("93", "insee_declare_code_postal")
    assert resolve_departement("93200", "Code commune") == ("93", "postal_declare_code_commune")
