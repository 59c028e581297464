import json

import pytest

from jobs.silver.decp_normalize import montant_exclusion, normalize_marche, parse_date, resolve_departement
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
    # "75000" is not a La Poste code but the generic one written for Paris (referential of generic codes)
    assert out["departement_execution"] == "75" and out["departement_method"] == "code_postal_generique"


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


def amounts(out):
    return out["montant"], out["montant_publie"], out["montant_exclu_motif"]


@pytest.mark.parametrize(("published", "expected"), [
    (127000, (127000.0, 127000.0, None)),
    (123456789, (None, 123456789.0, "PLACEHOLDER")),
    ("123456789.0", (None, 123456789.0, "PLACEHOLDER")),
    (1234567890, (None, 1234567890.0, "PLACEHOLDER")),
    (12345678.9, (None, 12345678.9, "PLACEHOLDER")),
    (999999999, (None, 999999999.0, "PLACEHOLDER")),
    (9999999, (None, 9999999.0, "PLACEHOLDER")),
    (1111111, (None, 1111111.0, "PLACEHOLDER")),
    (1999999999, (None, 1999999999.0, "PLACEHOLDER")),  # above 100 M€, a run of 9 nines
    (1.0e17, (None, 1.0e17, "HORS_BORNES")),  # more than 11 integer digits
    (123456789012, (None, 123456789012.0, "HORS_BORNES")),
    (0, (None, 0.0, "HORS_BORNES")),
    (0.5, (None, 0.5, "HORS_BORNES")),
    (999999, (999999.0, 999999.0, None)),  # six nines: a real cap is possible, kept
    (1234567, (1234567.0, 1234567.0, None)),
    (250000000, (250000000.0, 250000000.0, None)),
    (123456.89, (123456.89, 123456.89, None)),
])
def test_placeholder_and_absurd_amounts_are_flagged_and_excluded_but_the_contract_kept(published, expected):
    out = normalize_marche({"id": "1", "acheteur": {"id": "21750001600019"}, "montant": published}, "2022")
    assert amounts(out) == expected
    assert not [i for i in rule_ids(out) if i.startswith("decp.montant")]  # no issue: the contract is not refused


def test_amount_exclusion_function():
    assert montant_exclusion(123456789.0) == "PLACEHOLDER"
    assert montant_exclusion(15_000_000_000.0) is None and montant_exclusion(15_000_000_001.0) == "HORS_BORNES"
    assert montant_exclusion(1.0) is None and montant_exclusion(0.99) == "HORS_BORNES"
    assert montant_exclusion(-5.0) == "HORS_BORNES"


def test_a_placeholder_brought_by_a_modification_excludes_the_current_amount():
    mods = [{"id": 1, "montant": 999999999, "dateNotificationModification": "2024-06-01"}]
    out = normalize_marche({"montant": 50000, "modifications": mods}, "2022")
    assert amounts(out) == (None, 999999999.0, "PLACEHOLDER")  # never the older amount instead
    mods = [{"id": 1, "montant": 60000, "dateNotificationModification": "2024-06-01"}]
    out = normalize_marche({"montant": 123456789, "modifications": mods}, "2022")
    assert amounts(out) == (60000.0, 60000.0, None)  # the new total is a real one


def test_a_missing_or_unreadable_amount_is_reported():
    out = normalize_marche({"montant": "NC"}, "2022")
    assert amounts(out) == (None, None, None)
    assert [i["message"] for i in out["issues"] if i["rule_id"] == "decp.montant_present"] == [
        "montant missing or not a number: 'NC' is not a number"]
    assert amounts(normalize_marche({}, "2022")) == (None, None, None)  # absent: the rule refuses it in silver


@pytest.mark.parametrize(("published_type", "expected"), [
    ("TVA", "TVA"), ("TVA-intracommunautaire", "TVA"), ("TVA intracommunautaire", "TVA"),
    ("tva intra-communautaire", "TVA"), ("HORS-UE", "HORS-UE"), ("HORS_UE", "HORS-UE"), ("Hors UE", "HORS-UE"),
    ("UE", "UE"), ("TAHITI", "TAHITI"), ("RIDET", "RIDET"), ("FRWF", "FRWF"), ("FRW", "FRWF"), ("IREP", "IREP"),
    ("SIRET", "SIRET"),
])
def test_holders_identified_otherwise_than_by_siret_are_kept_with_a_normalised_type(published_type, expected):
    rec = {"titulaires": [{"titulaire": {"typeIdentifiant": published_type, "id": "DE 814.864.138"}}]}
    out = normalize_marche(rec, "2022")
    assert out["titulaires"] == [{"type_identifiant": expected, "id": "DE814864138", "denomination": None}]
    assert out["n_titulaires"] == 1 and rule_ids(out) == []


def test_holder_types_without_type_and_unknown_types():
    out = normalize_marche({"titulaires": [{"id": "55204599900869"}, {"id": "BE0123456789"},
                                           {"typeIdentifiant": "DUNS", "id": "123456789"}]}, "2019")
    assert [t["type_identifiant"] for t in out["titulaires"]] == ["SIRET", None, "INCONNU:DUNS"]
    assert out["n_titulaires"] == 3


def test_uid_is_the_buyer_siret_followed_by_the_contract_id():
    out = normalize_marche({"id": " 2024-12 ", "acheteur": {"id": "217 500 016 00019"}}, "2022")
    assert out["uid"] == "217500016000192024-12"
    assert normalize_marche({"id": "2024-12"}, "2022")["uid"] is None


def test_modifications_apply_by_notification_date_then_by_numeric_id():
    mods = [{"modification": {"id": 10, "montant": 300000, "dureeMois": 30,
                              "dateNotificationModification": "2024-06-01"}},
            {"modification": {"id": 2, "montant": 200000, "dateNotificationModification": "2024-06-01"}},
            {"modification": {"id": 1, "montant": 400000, "dureeMois": 40,
                              "dateNotificationModification": "2024-09-01"}},
            {"modification": {"id": 3, "montant": 150000, "dateNotificationModification": "2024-03-01"}}]
    out = normalize_marche({"montant": 100000, "dureeMois": 12, "modifications": mods}, "2022")
    # applied 3 (March), then 2 and 10 (same day: 2 before 10), then 1 (September): the last totals win
    assert [m["montant"] for m in out["modifications"]] == [150000.0, 200000.0, 300000.0, 400000.0]
    assert [m["rang"] for m in out["modifications"]] == [1, 2, 3, 4]
    assert (out["montant"], out["duree_mois"]) == (400000.0, 40)
    out = normalize_marche({"montant": 100000, "dureeMois": 12, "modifications": mods[:2]}, "2022")
    assert (out["montant"], out["duree_mois"]) == (300000.0, 30)  # id 10 after id 2, not before ("10" < "2")


def test_codes_unknown_to_the_idf_referential_are_never_counted_as_idf():
    assert resolve_departement("75000", "Code postal") == ("75", "code_postal_generique")
    assert resolve_departement("75099", "Code postal") == (None, "unknown_code")  # not a Paris code
    assert resolve_departement("93999", "Code commune") == (None, "unknown_code")
    assert resolve_departement("92042", "Code postal") == (None, "unknown_code")  # a CEDEX code
    assert resolve_departement("9301", "Code canton") == (None, "unknown_code")
    assert resolve_departement("93", "Code région") == (None, "not_departemental")  # PACA, not Seine-Saint-Denis
    assert resolve_departement("11", "Code région") == (None, "not_departemental")
    assert resolve_departement("93", None) == (None, "unknown_code")
    assert resolve_departement("FR", "Code pays") == (None, "not_departemental")
    assert resolve_departement("99", "Code département") == (None, "unknown_code")


def test_codes_resolved_by_the_referential_or_outside_idf_by_their_prefix():
    assert resolve_departement("932", "Code arrondissement") == ("93", "arrondissement")
    assert resolve_departement("75112", "Code arrondissement") == ("75", "commune_insee")
    assert resolve_departement("75012", None) == ("75", "code_sans_type")
    assert resolve_departement("3501", "Code canton") == ("35", "prefix")  # not "03" (no zero padding)
    assert resolve_departement("351", "Code arrondissement") == ("35", "prefix")
    assert resolve_departement("69383", "Code arrondissement") == ("69", "prefix")  # a municipal arrondissement
    assert resolve_departement("1000", "Code postal") == ("01", "prefix")  # published as a number
    assert resolve_departement("2A004", "Code commune") == ("2A", "prefix")
    assert resolve_departement("20000", "Code postal") == (None, "unknown_code")  # Corsica: 2A or 2B?
