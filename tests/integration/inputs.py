"""Inputs of the shared pipeline run that are not generated: hostile files of every kind, exports holding
every kind of direct identifier, a facilitator export missing a required column, a contract whose objet is a
spreadsheet formula. Tests that check how they were handled import them from here."""

from __future__ import annotations

import json
from pathlib import Path

from jobs.core.settings import PROJECT_ROOT
from tests.unit.fuzz import mutate

GOOD = {"acheteur": {"id": "21750001600019"}, "id": "2024X1", "nature": "Marché", "objet": "ok",
        "montant": 1000, "dureeMois": 12, "dateNotification": "2024-03-01", "codeCPV": "45000000",
        "lieuExecution": {"code": "75056", "typeCode": "Code commune"},
        "titulaires": [{"typeIdentifiant": "SIRET", "id": "73282932000074", "denominationSociale": "ACME"}]}
HOSTILE_DECP = {
    "hostile_surrogates.json": json.dumps({"marches": [{**GOOD, "id": "S1", "objet": "\ud800x\udfff"}, GOOD]},
                                          ensure_ascii=True).encode(),
    "hostile_huge_values.json": json.dumps({"marches": [{**GOOD, "id": "H1", "montant": 10**4000,
                                                         "dureeMois": 1e300,
                                                         "modifications": [{"dureeMois": 3e9}]}]}).encode(),
    "hostile_giant_string.json": mutate.giant_string_json(8),
    "hostile_int_5000_digits.json": b'{"marches": [{"montant": 1' + b"0" * 5000 + b"}]}",
    "hostile_deep.json": mutate.deep_json(100_000),
    "hostile_truncated.json": b'{"marches": [{"id": "T1", "objet": "cut',
    "hostile_utf16.json": '{"marches": []}'.encode("utf-16"),
    "hostile_billion_laughs.xml": mutate.XML_ENTITY_ATTACKS[0],
    "hostile_xxe.xml": mutate.XML_ENTITY_ATTACKS[1],
    "hostile_deep.xml": mutate.deep_xml(100_000),
    "hostile_encoding.xml": mutate.XML_ENTITY_ATTACKS[6],
}
GP_ROWS = [["Maître d'ouvrage", "Opération", "SIRET acheteur", "N° de marché", "Montant HT (€)", "Notification"],
           ["SGP", "L15", "52504601700013", "2021GPE15", 3.5, "2021-03-15"]]
HOSTILE_TABULAR = {
    ("facilitateurs", "clause75_heures_garbage.csv"): bytes(range(128, 256)) * 40,
    ("facilitateurs", "clause75_heures_nul.csv"): b"Id contrat;P\x00riode;Heures\nA;10/2024;\x0035\n",
    ("grand_paris", "contrats_bomb.xlsx"): mutate.xlsx_bomb(100),
    ("grand_paris", "contrats_broken.xlsx"): mutate._xlsx(GP_ROWS, lambda x: x[: len(x) // 2]),
}
# An export with every kind of direct identifier, and one refused whole (no id column) that still holds names.
EXTRA_PARTICIPANTS = (
    "Identifiant participant;Nom;Prénom;Sexe;Date de naissance;Courriel;NIR;Adresse;Téléphone;Niveau de diplôme\n"
    "VX-000001;Lefèvre;Anaïs;F;14/07/1991;anais.lefevre@example.fr;291077512345622;12 rue des Lilas Bobigny;"
    "06 11 22 33 44;3\n"
    "VX-000002;Moreau;Sékou;H;1988-02-29;sekou.moreau@mail.test;188027512345611;4 allée Jean Moulin Pantin;"
    "+33 7 55 66 77 88;4\n")
REFUSED_PARTICIPANTS = "Réf;Nom;Prénom;Téléphone\nZZ-1;Girard;Noémie;0699887766\n"


FORMULA_OBJET = "=HYPERLINK(\"http://exemple.invalid\",\"x\")"
# A facilitator export whose software renamed a required column: refused whole, with the reason.
RENAMED_HOURS = ("clause93_heures_renamed.csv", "Réf. contrat;Période;Durée\nOP1-1;10/2024;35\n")


def formula_contract(inbox: Path) -> None:
    """An official example republished with an objet a spreadsheet would run."""
    src = PROJECT_ROOT / "samples/decp/format-2022-v2/json_marches_avec_modifications.json"
    m = json.loads(src.read_text(encoding="utf-8"))["marches"]["marche"][0]
    m.update(id="FORMULE1", objet=FORMULA_OBJET, dateNotification="2024-06-03", datePublicationDonnees="2024-06-10")
    m.pop("modifications", None)
    (inbox / "decp" / "decp_formule.json").write_text(json.dumps({"marches": {"marche": [m]}}), encoding="utf-8")


def add_hand_made_inputs(inbox: Path) -> None:
    for name, data in HOSTILE_DECP.items():
        (inbox / "decp" / name).write_bytes(data)
    for (source, name), data in HOSTILE_TABULAR.items():
        (inbox / source / name).write_bytes(data)
    (inbox / "facilitateurs" / "ville-x_participants_2024.csv").write_text(EXTRA_PARTICIPANTS, encoding="utf-8")
    (inbox / "facilitateurs" / "ville-x_participants_refused.csv").write_text(REFUSED_PARTICIPANTS,
                                                                              encoding="utf-8")
    (inbox / "facilitateurs" / RENAMED_HOURS[0]).write_text(RENAMED_HOURS[1], encoding="utf-8")
    formula_contract(inbox)
