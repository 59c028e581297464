"""Onboarding a facilitator without a code change (issue 19), no Spark: declarations read and checked from a
folder, one-file exports recognised and split, the profile of a new export, and the reader streaming a file."""

from __future__ import annotations

import io

import pytest

from jobs.core.privacy import pseudonymize
from jobs.ingest.profile import draft_declaration, profile_file
from jobs.ingest.tabular import CHUNK, TabularFile, TabularFileError
from jobs.ingest.wide import NO_VALUE, read_file
from schemas.declarations import DeclarationError
from schemas.sources import source_contract

KEY = b"test-key"
DECLARATION = """facilitateur: mdef93
columns:
  operations.facilitateur_marche_id: "N° opération"
  operations.date_debut: "Début opé"
  operations.heures_objectif: "Objectif"
  contrats.contrat_id: "N° contrat"
  contrats.date_debut: "Date de début"
  heures.heures_realisees: "Heures réalisées"
values:
  operations.modalite_juridique: {"Clause insertion chantier": CLAUSE_EXECUTION_L2112_2}
"""
# One line per work contract and month, the operation and the person repeated; cp1252, ";", CRLF, decimal
# comma, dd/mm/yyyy dates and mm/yyyy months. "Date de début" alone would be ambiguous (operation or
# contract?): the declaration says it is the contract's.
WIDE = (
    "N° opération;SIRET acheteur;Type de marché;Modalité;Début opé;Objectif;Id participant;Nom;Sexe;"
    "N° contrat;SIRET employeur;Date de début;Mois;Heures réalisées;Chef de projet\r\n"
    "OP1;21930066600014;Travaux;Clause insertion chantier;01/02/2025;1 200,5;P1;Dupont;F;C1;44306184100047;"
    "03/02/2025;02/2025;35,5;M. Martin\r\n"
    "OP1;21930066600014;Travaux;Clause insertion chantier;01/02/2025;1 200,5;P1;Dupont;F;C1;44306184100047;"
    "03/02/2025;03/2025;70;M. Martin\r\n"
    "OP1;21930066600014;Travaux;Clause insertion chantier;01/02/2025;1 200,5;P2;Diallo;H;C2;44306184100047;"
    "10/03/2025;03/2025;12,25;M. Martin\r\n"
    "OP2;21930066600014;Services;article 38;01/05/2025;300;;;;;;;;;\r\n"
    ";;;;;;;;;;;;;;Mme Petit\r\n"
).encode("cp1252")


@pytest.fixture
def declared(tmp_path):
    (tmp_path / "mdef93.yaml").write_text(DECLARATION, encoding="utf-8")
    return source_contract("facilitateurs", tmp_path)


def problems(tmp_path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(DeclarationError) as exc:
        source_contract("facilitateurs", tmp_path)
    return exc.value.problems


def test_a_declaration_in_a_folder_of_its_own_declares_headers_and_labels(declared):
    decl = declared.declarations["mdef93"]
    assert decl.columns[("contrats", "date_debut")] == ("Date de début",)
    assert decl.values[("operations", "modalite_juridique")] == {
        "clause insertion chantier": "CLAUSE_EXECUTION_L2112_2"}
    # the folder replaces the repository's declarations
    assert set(declared.declarations) == {"mdef93"} and "clause93" in source_contract("facilitateurs").declarations


def test_an_unknown_key_gives_one_message_naming_file_key_and_what_is_expected(tmp_path):
    assert problems(tmp_path, {"mdef93.yaml": DECLARATION + "colums: {}\n"}) == [
        "mdef93.yaml: key 'colums': unknown key; expected one of facilitateur, description, columns, values"]


def test_an_unknown_canonical_field_gives_one_message(tmp_path):
    text = DECLARATION.replace("operations.date_debut:", "operations.date_debut_operation:")
    assert problems(tmp_path, {"mdef93.yaml": text}) == [
        "mdef93.yaml: key 'columns.operations.date_debut_operation': unknown canonical field: operations has no "
        "column 'date_debut_operation'; expected one of facilitateur_marche_id, donneur_ordre_siret, "
        "donneur_ordre_nom, decp_id, objet, type_marche, modalite_juridique, date_notification, date_debut, "
        "date_fin, heures_objectif, commune_execution_insee, grand_projet, facilitateur_structure"]


def test_a_facilitator_declared_twice_gives_one_message(tmp_path):
    assert problems(tmp_path, {"mdef93.yaml": DECLARATION, "mdef93-bis.yaml": DECLARATION}) == [
        "mdef93.yaml: key 'facilitateur': 'mdef93' is already declared in mdef93-bis.yaml; expected one file per "
        "facilitator"]


def test_an_unknown_code_and_a_column_without_code_list_are_refused(tmp_path):
    text = DECLARATION.replace("CLAUSE_EXECUTION_L2112_2}", "CLAUSE_X}") + "  operations.objet: {a: b}\n"
    found = problems(tmp_path, {"mdef93.yaml": text})
    assert len(found) == 2
    assert found[0].startswith("mdef93.yaml: key 'values.operations.modalite_juridique.Clause insertion chantier': "
                               "unknown code 'CLAUSE_X' of legal_modalities; expected one of CLAUSE_EXECUTION_L2112_2")
    assert found[1].startswith("mdef93.yaml: key 'values.operations.objet': this column is not coded on a "
                               "referential list")


def test_the_repository_declarations_are_valid():
    assert source_contract("facilitateurs").declarations["clause93"].columns[("heures", "heures_realisees")] == (
        "Heures du mois",)


def records_of(reading):
    out = {}
    for entity, index, record in reading.records():
        out.setdefault(entity, []).append((index, record))
    return out


def test_a_wide_cp1252_export_is_split_into_its_entities(declared):
    match = declared.match("mdef93_export_2025-03.csv")
    assert match.entity is None and match.facilitateur == "mdef93"
    reading = read_file(WIDE, declared, match, KEY)
    d = reading.dialect
    assert (d.encoding, d.delimiter, d.line_ending, d.decimal, d.date_formats) == (
        "cp1252", ";", "CRLF", ",", "dd/mm/yyyy,mm/yyyy")
    assert reading.entities == ["operations", "participants", "contrats", "heures"]
    # the file is about persons: names and columns the contract does not know are dropped
    assert reading.recognition.dropped == ["Nom", "Chef de projet"]
    got = records_of(reading)
    p1, p2 = (pseudonymize(KEY, "facilitateurs:mdef93", p) for p in ("P1", "P2"))
    ops = [(i, r["facilitateur_marche_id"], r["date_debut"], r["heures_objectif"], r["modalite_juridique"])
           for i, r in got["operations"]]
    assert ops == [(0, "OP1", "01/02/2025", "1 200,5", "Clause insertion chantier"),
                   (3, "OP2", "01/05/2025", "300", "article 38")]
    assert [(i, r["participant_id"], r["sexe"]) for i, r in got["participants"]] == [(0, p1, "F"), (2, p2, "H")]
    assert [(i, r["contrat_id"], r["participant_id"], r["facilitateur_marche_id"], r["entreprise_siret"],
             r["date_debut"]) for i, r in got["contrats"]] == [
        (0, "C1", p1, "OP1", "44306184100047", "03/02/2025"), (2, "C2", p2, "OP1", "44306184100047", "10/03/2025")]
    hours = [(i, r["contrat_id"], r["mois"], r["heures_realisees"], r["row_issue"]) for i, r in got["heures"]]
    # the last line holds only an unknown column: a flagged row of the finest entity, refused at silver
    assert hours == [(0, "C1", "02/2025", "35,5", None), (1, "C1", "03/2025", "70", None),
                     (2, "C2", "03/2025", "12,25", None), (4, None, None, None, NO_VALUE)]
    assert all(r["extra_fields"] == {} for rows in got.values() for _, r in rows)
    assert "Dupont" not in repr(got) and "Martin" not in repr(got) and "P1" not in [r["participant_id"] for _, r in
                                                                                    got["participants"]]
    assert reading.stats == {"layout": "wide", "lines": 5, "rows": {"operations": 2, "participants": 2,
                                                                    "contrats": 2, "heures": 4},
                             "merged": {"operations": 2, "participants": 1, "contrats": 1}, "lines_without_value": 1}


def test_outcomes_of_a_wide_file_are_kept_once_per_contract_and_only_when_known(declared):
    data = ("Id contrat;Id participant;Mois;Heures;Date de la situation;Situation à 6 mois\n"
            "C1;P1;01/2025;10;;\nC1;P1;02/2025;12;15/09/2025;emploi durable\n"
            "C2;P1;02/2025;7;15/09/2025;emploi durable\nC2;P1;03/2025;7;15/09/2025;emploi durable\n").encode()
    reading = read_file(data, declared, declared.match("mdef93_suivi.csv"), KEY)
    assert reading.entities == ["heures", "sorties"]
    got = records_of(reading)
    p1 = pseudonymize(KEY, "facilitateurs:mdef93", "P1")
    assert [(i, r["participant_id"], r["contrat_id"], r["date_situation"], r["situation"]) for i, r in got["sorties"]] \
        == [(1, p1, "C1", "15/09/2025", "emploi durable"), (2, p1, "C2", "15/09/2025", "emploi durable")]
    assert len(got["heures"]) == 4 and reading.stats["merged"] == {"sorties": 1}


def test_an_ambiguous_header_refuses_the_file_and_asks_for_a_declaration(declared):
    undeclared = declared.with_declarations({})
    data = "Id operation;SIRET acheteur;Type;Article;Date de début;Objectif heures;Id contrat;Id participant;" \
           "SIRET;Mois;Heures\nOP1;1;travaux;L2112-2;01/01/2025;10;C1;P1;2;01/2025;7\n"
    with pytest.raises(TabularFileError, match=r"header 'Date de début' could be contrats\.date_debut or "
                                               r"operations\.date_debut in this one-file export: declare which"):
        read_file(data.encode(), undeclared, undeclared.match("x_export.csv"), KEY)


def test_a_file_carrying_no_entity_is_refused_with_what_each_lacks(declared):
    with pytest.raises(TabularFileError, match="no facilitateurs entity recognised in the headers of this file "
                                               r"\(operations lacks facilitateur_marche_id"):
        read_file(b"Commentaire;Date\nx;1\n", declared, declared.match("mdef93_notes.csv"), KEY)


def test_profile_lists_columns_and_labels_to_map_and_drafts_a_declaration(tmp_path, declared):
    export = tmp_path / "mdef93_export_2025-03.csv"
    export.write_bytes(WIDE)
    # without its declaration: "N° contrat" folds to the synonym "n contrat", but "Objectif" is no synonym, so
    # the operations (their objective) would not be loaded, nor their headers read
    partly = profile_file(export, declared.with_declarations({}))
    assert partly.refused is None and partly.entities == ["participants", "contrats", "heures"]
    assert partly.missing == {"operations": ["heures_objectif"]}
    assert {"Objectif", "Modalité"} <= set(partly.not_recognised) and "Nom" not in partly.not_recognised
    profile = profile_file(export, declared)
    assert profile.refused is None and profile.entities == ["operations", "participants", "contrats", "heures"]
    how = {r["header"]: (r["columns"], r["how"]) for r in profile.recognised}
    assert how["N° contrat"] == (["contrats.contrat_id", "heures.contrat_id"], "declared")
    assert how["Modalité"] == (["operations.modalite_juridique"], "synonym")
    assert profile.not_recognised == ["Chef de projet"]
    # "Clause insertion chantier" is declared; "article 38" is a legacy label of the referential
    assert profile.unmapped == []
    text = WIDE.decode("cp1252").replace("article 38", "clause spéciale n°7").encode("cp1252")
    export.write_bytes(text)
    profile = profile_file(export, declared)
    assert profile.unmapped == [{"column": "operations.modalite_juridique", "code_list": "legal_modalities",
                                 "value": "clause spéciale n°7", "rows": 1}]
    draft = draft_declaration(profile, declared)
    assert '    # "clause spéciale n°7": <code>  # 1 rows' in draft
    assert '  contrats.contrat_id: "N° contrat"' in draft
    (tmp_path / "decl").mkdir()
    (tmp_path / "decl" / "mdef93.yaml").write_text(draft, encoding="utf-8")
    assert source_contract("facilitateurs", tmp_path / "decl").declarations["mdef93"].columns[
        ("contrats", "contrat_id")] == ("N° contrat",)


class Tracked(io.RawIOBase):
    """A file that records how it is read."""

    def __init__(self, data: bytes, log: list):
        self.data, self.pos, self.log = data, 0, log

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), len(self.data) - self.pos)
        buffer[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        self.log.append(n)
        return n


def test_the_reader_streams_a_file_it_never_holds_whole():
    """8 MiB of lines: the first pass reads chunks of at most 1 MiB, and the first row comes out of the second
    pass once a few KiB are read, not the file."""
    line = "C{:07d};01/2025;35,5\r\n"
    data = ("contrat_id;mois;heures\r\n" + "".join(line.format(i) for i in range(400_000))).encode()
    assert len(data) > 8 * CHUNK
    passes: list[list[int]] = []

    def opener():
        passes.append([])
        return io.BufferedReader(Tracked(data, passes[-1]), 1 << 16)

    f = TabularFile(opener)
    assert (f.dialect.encoding, f.dialect.delimiter, f.dialect.line_ending) == ("utf-8", ";", "CRLF")
    first_pass = passes[-1]
    assert sum(first_pass) == len(data) and max(first_pass) <= CHUNK
    rows = f.rows()
    assert next(rows) == ["contrat_id", "mois", "heures"] and next(rows) == ["C0000000", "01/2025", "35,5"]
    assert sum(passes[-1]) < 200 << 10  # the second pass has read a few buffers, not the 8 MiB
    assert sum(1 for _ in rows) == 399_999


def test_a_file_that_is_not_text_is_refused_after_the_first_pass():
    with pytest.raises(TabularFileError, match=r"neither UTF-8 nor Windows-1252 text \(byte 8\)"):
        TabularFile(b"a;b\n\xc3\xa9;x\x81\n")
