"""The referential is data that is checked: every file under ``schemas/`` against its declared schema, one label
normaliser (``fold``), legal modalities under their current and legacy names, no silent default."""

from __future__ import annotations

import shutil

import pytest

from schemas import referential as ref
from schemas import validate as v

# Real-world spellings of labels (facilitators' software, DECP, hand-typed cells), with the key each must fold to.
FOLDED = {
    "Clause d'insertion (art. 14)": "article 14",
    "Art.38": "article 38",
    "ART 38": "article 38",
    "article L.2112-2 du CCP": "l2112 2",
    "L 2112-2": "l2112 2",
    "L2112-2": "l2112 2",
    "Article R.2152-7 du code de la commande publique": "r2152 7",
    "Marché réservé (L2113-13-1)": "l2113 13 1",
    "art. 36-II de l'ordonnance 2015-899": "article 36 ii",
    "article 14 et article 38": "article 14 et article 38",  # two references: ambiguous, kept whole
    "Clause\u00a0sociale\u202fd’insertion": "clause sociale d insertion",  # NBSP, narrow NBSP, typographic apostrophe
    "  CLAUSE   SOCIALE\t": "clause sociale",
    "Critère social": "critere social",
    "Marché réservé": "marche reserve",
    "Convention hors marché public (ANRU)": "convention hors marche public anru",
    "CDD ≥ 6 mois": "cdd plus de 6 mois",
    "CDD >= 6 mois": "cdd plus de 6 mois",
    "CDD < 6 mois": "cdd moins de 6 mois",
    "+50 ans": "plus de 50 ans",
    "Objectif insertion (%)": "objectif insertion pct",
    "Œuvre d'ÉTÉ": "oeuvre d ete",
    "N° opé": "n ope",
}


def test_every_file_under_schemas_matches_its_declared_schema():
    assert v.validate_all() == []
    covered = {p.relative_to(v.SCHEMAS_DIR).as_posix() for p, _ in v.checks()}
    assert {"referential/legal_modalities.csv", "referential/geo/idf_communes_cog2026.csv",
            "sources/facilitateurs.yaml", "referential/decp_code_lists.json",
            "referential/geo/mgp_communes_2018.geojson", "schema_decp_v2.0.3.json"} <= covered


BROKEN_ROW = ("AUTRE,Autre cadre (hors marché public : ANRU/NPNRU, chartes),,,autre|hors marché public|ANRU,\n")


def test_an_unquoted_comma_fails_with_the_file_and_the_line(tmp_path):
    good = (ref.REFERENTIAL_DIR / "legal_modalities.csv").read_text(encoding="utf-8")
    broken = tmp_path / "legal_modalities.csv"
    broken.write_text(good + BROKEN_ROW, encoding="utf-8")
    line = len(good.splitlines()) + 1  # the appended row
    problems = v.validate_csv(broken, v.TABLE_SCHEMAS / "legal_modalities.json")
    assert any(p.startswith(f"{broken}:{line}: extra-cell") for p in problems), problems
    with pytest.raises(ref.ReferentialError, match=rf"legal_modalities.csv:{line}: 7 fields where the header has 6"):
        ref._read_csv(broken)


def test_a_schema_violation_and_a_file_without_schema_are_reported(tmp_path, monkeypatch):
    root = tmp_path / "schemas"
    shutil.copytree(v.SCHEMAS_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setattr(v, "SCHEMAS_DIR", root)
    monkeypatch.setattr(v, "TABLE_SCHEMAS", root / "referential" / "schemas")
    monkeypatch.setattr(v, "META", root / "meta")
    (root / "referential" / "new_list.csv").write_text("code,label_fr\nX,x\n", encoding="utf-8")
    bands = root / "referential" / "age_bands.csv"
    bands.write_text(bands.read_text(encoding="utf-8").replace("PLUS_50,50 ans et plus,50,200",
                                                                 "PLUS_50,50 ans et plus,cinquante,200"))
    contract = root / "sources" / "facilitateurs.yaml"
    text = contract.read_text(encoding="utf-8").replace("nom: {kind: direct_identifier", "nom: {kind: secret")
    contract.write_text(text, encoding="utf-8")
    nom_line = next(i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith("nom: {kind: secret"))
    problems = [p for _, check in v.checks() for p in check()]
    assert "referential/new_list.csv: no Table Schema at referential/schemas/new_list.json" in problems
    assert any(p.startswith("referential/age_bands.csv:4: type-error") for p in problems), problems
    assert any(p.startswith(f"sources/facilitateurs.yaml:{nom_line}: entities/participants/columns/nom")
               for p in problems), problems


def test_one_label_naming_two_codes_is_an_error_not_a_first_choice():
    lookup: dict[str, str] = {}
    ref._add_label(lookup, "x.csv", "Mise à disposition", "MAD_AI")
    ref._add_label(lookup, "x.csv", "MISE A DISPOSITION", "MAD_AI")  # the same code again: fine
    with pytest.raises(ref.ReferentialError, match=r"x.csv: label 'mise à disposition' .* names both MAD_AI and MAD"):
        ref._add_label(lookup, "x.csv", "mise à disposition", "MAD")


@pytest.mark.parametrize(("label", "key"), FOLDED.items())
def test_fold(label, key):
    assert ref.fold(label) == key


LEGAL = {  # label as written in exports -> legal modality
    "Clause d'insertion (art. 14)": "CLAUSE_EXECUTION_L2112_2",  # CMP 2006
    "Art.38": "CLAUSE_EXECUTION_L2112_2",  # ordonnance 2015
    "article L.2112-2 du CCP": "CLAUSE_EXECUTION_L2112_2",
    "L 2112-2": "CLAUSE_EXECUTION_L2112_2",
    "Clause sociale": "CLAUSE_EXECUTION_L2112_2",  # DECP value
    "Critère social": "CRITERE_ATTRIBUTION_R2152_7",  # DECP value
    "Article 53 du Code des marchés publics": "CRITERE_ATTRIBUTION_R2152_7",
    "art. 52": "CRITERE_ATTRIBUTION_R2152_7",
    "Art 62 décret 2016-360": "CRITERE_ATTRIBUTION_R2152_7",
    "R2152-7": "CRITERE_ATTRIBUTION_R2152_7",
    "Marché réservé": "MARCHE_RESERVE",  # DECP value: which reservation is not said
    "Marché réservé (art. 15)": "MARCHE_RESERVE_HANDICAP_L2113_12",
    "art. 36-I": "MARCHE_RESERVE_HANDICAP_L2113_12",
    "Art. 36-II ordonnance": "MARCHE_RESERVE_SIAE_L2113_13",
    "L2113-13": "MARCHE_RESERVE_SIAE_L2113_13",
    "L2113-14": "MARCHE_RESERVE_MIXTE_L2113_14",
    "L.2113-15": "MARCHE_RESERVE_ESS_L2113_15",
    "art. 37": "MARCHE_RESERVE_ESS_L2113_15",
    "L2113-13-1": "MARCHE_RESERVE_PENITENTIAIRE_L2113_13_1",
    "Marché d'insertion (art. 30)": "MARCHE_INSERTION_QUALIFICATION",
    "article 28 du décret 2016": "MARCHE_INSERTION_QUALIFICATION",
    "Convention hors marché public (ANRU)": "HORS_MARCHE_PUBLIC",
    "Hors marchés publics - charte d'insertion": "HORS_MARCHE_PUBLIC",
    "NPNRU": "HORS_MARCHE_PUBLIC",
    # ambiguous or unknown: never a default
    "article 36": None,  # 36-I (handicap) or 36-II (SIAE)?
    "Autre": None,
    "clause spéciale n°7": None,
    "Art. 14 et art. 53": None,  # two modalities in one label
}


@pytest.mark.parametrize(("label", "code"), LEGAL.items())
def test_legal_modalities_know_current_and_legacy_names(label, code):
    assert ref.mapping("legal_modalities").canonical(label) == code


@pytest.mark.parametrize(("list_name", "label"), [
    ("contract_types", "Mise à disposition"),  # by an AI, an ETTI, a GEIQ?
    ("outcomes", "Formation"),  # qualifying or not?
    ("outcomes", "CDD"),  # 6 months or more?
    ("sexes", "1"), ("sexes", "2"),  # INSEE order or the software's?
    ("grand_projects", "Oui"),  # which project?
    ("legal_modalities", "Mise à disposition"),
])
def test_ambiguous_labels_have_no_code(list_name, label):
    assert ref.mapping(list_name).canonical(label) is None


def test_unambiguous_neighbours_keep_their_code():
    assert ref.mapping("contract_types").canonical("Mise à disposition AI") == "MISE_A_DISPOSITION_AI"
    assert ref.mapping("outcomes").canonical("Formation qualifiante") == "SORTIE_POSITIVE"
    assert ref.mapping("outcomes").canonical("CDD ≥ 6 mois") == "EMPLOI_DURABLE"
    assert ref.mapping("outcomes").canonical("CDD < 6 mois") == "EMPLOI_TRANSITION"
    assert ref.mapping("outcomes").canonical("Sans nouvelle") == "NON_REPONSE"
    assert ref.mapping("grand_projects").canonical("GPE ligne 15 Sud") == "GPE"
    assert ref.mapping("grand_projects").canonical("JOP village des athlètes") == "JOP"


def test_fold_tables_give_the_python_fold_character_by_character():
    src, dst, deleted, multi = ref.fold_char_tables()
    assert len(src) == len(dst) and not set(src) & set(deleted) and not set(src) & set(multi)
    for c, image in [*zip(src, dst, strict=True), *multi.items()]:
        assert ref._fold_chars(c).strip() == image.strip(), c
    assert {"é": "e", "\u00a0": " ", "\u202f": " ", "’": " "}.items() <= dict(zip(src, dst, strict=True)).items()
    assert "\u0301" in deleted and multi["œ"] == "oe"
