import io

import pytest
from openpyxl import Workbook

from jobs.core.privacy import pseudonymize
from jobs.ingest.tabular import TabularFileError, read_tabular
from schemas.sources import source_contract
from tests.conftest import PROJECT_ROOT

KEY = b"test-key"
FAC = source_contract("facilitateurs")


def participants(data: bytes, facilitateur="ville-x"):
    return read_tabular(data, FAC, FAC.entities["participants"], facilitateur, KEY)


PARTICIPANTS_UTF8 = (
    "Identifiant participant;Nom;Prénom;Sexe;Date de naissance;Niveau de diplôme;Commune de résidence;QPV;Téléphone\n"
    "P-001;Dupont;Marie;F;03/02/1990;3;93066;oui;0601020304\n"
    "P-002;Martin;Éric;H;1975-11-30;infra 3;75056;non;\n"
)


def test_semicolon_utf8_export_with_french_headers():
    result = participants(PARTICIPANTS_UTF8.encode("utf-8"))
    assert result.encoding == "utf-8" and result.delimiter == ";"
    first, second = result.rows
    assert first["participant_id"] == pseudonymize(KEY, "facilitateurs:ville-x", "P-001")
    assert first["sexe"] == "F" and first["date_naissance"] == "1990-02-03"
    assert first["personne_id"] == pseudonymize(KEY, "personne", "dupont|marie|1990-02-03")
    assert second["date_naissance"] == "1975-11-30" and second["niveau_diplome"] == "infra 3"
    assert second["personne_id"] == pseudonymize(KEY, "personne", "martin|eric|1975-11-30")
    assert second["commune_residence_insee"] == "75056" and second["qpv"] == "non"
    # names, phone numbers and the raw id never leave the raw zone; the birth date only as an ISO date
    flat = repr(result.rows)
    for secret in ("Dupont", "Marie", "Martin", "0601020304", "P-001", "03/02/1990"):
        assert secret not in flat
    assert sorted(result.dropped_columns) == ["Nom", "Prénom", "Téléphone"]


def test_one_person_gets_one_key_across_facilitators_and_exports():
    """Spelling variants of the same name and birth date give the same key; the local ids differ."""
    a = participants("id participant;nom;prénom;date de naissance\nA1;Le Gall;Jean-Pierre;05/04/1988\n".encode())
    b = read_tabular("Réf. personne,Nom de famille,Prénom usuel,Né le\n93-77,LE GALL,jean pierre,1988-04-05\n"
                     .encode("cp1252"), FAC, FAC.entities["participants"], "clause93", KEY)
    c = participants("id participant;nom;prénom;date de naissance\nA2;Le Gall;Jean-Pierre;1988\n".encode())
    d = participants("id participant;nom;prénom;date de naissance\nA3;Le Gall;;05/04/1988\n".encode())
    [ra], [rb], [rc], [rd] = a.rows, b.rows, c.rows, d.rows
    assert ra["personne_id"] == rb["personne_id"] == pseudonymize(KEY, "personne", "legall|jeanpierre|1988-04-05")
    assert ra["participant_id"] != rb["participant_id"]
    assert (rc["personne_id"], rc["date_naissance"]) == (None, None)  # a year is not a birth date
    assert rd["personne_id"] is None  # no first name: no link, the local id stands alone


def test_comma_cp1252_export_gives_the_same_rows():
    as_cp1252 = PARTICIPANTS_UTF8.replace(";", ",").encode("cp1252")
    result = participants(as_cp1252)
    assert result.encoding == "cp1252" and result.delimiter == ","
    assert result.rows == participants(PARTICIPANTS_UTF8.encode("utf-8")).rows


def test_facilitator_specific_headers_come_from_its_override():
    data = "Réf. contrat;Mois;Heures du mois\nC1;2025-10;151,67\n".encode()
    rows = read_tabular(data, FAC, FAC.entities["heures"], "clause93", KEY).rows
    assert rows == [{"contrat_id": "C1", "mois": "2025-10", "heures_realisees": "151,67", "extra_fields": {},
                     "row_issue": None}]
    with pytest.raises(TabularFileError, match="contrat_id, heures_realisees"):
        read_tabular(data, FAC, FAC.entities["heures"], "another", KEY)


def test_unknown_columns_of_person_files_are_dropped_and_others_kept():
    data = "contrat_id;mois;heures;Commentaire libre\nC1;2025-10;7;appelé M. Dupont\n".encode()
    result = read_tabular(data, FAC, FAC.entities["heures"], "x", KEY)
    assert result.rows[0]["extra_fields"] == {} and result.dropped_columns == ["Commentaire libre"]
    ops = ("id operation;siret acheteur;type;article;debut;objectif heures;Chef de projet\n"
           "O1;1;travaux;L2112-2;01/01/2025;100;x\n")
    result = read_tabular(ops.encode(), FAC, FAC.entities["operations"], "x", KEY)
    assert result.rows[0]["extra_fields"] == {"Chef de projet": "x"}


def test_missing_required_columns_reject_the_whole_file_with_their_names():
    with pytest.raises(TabularFileError, match="required columns missing for facilitateurs/contrats: "
                                              "facilitateur_marche_id, entreprise_siret, date_debut"):
        read_tabular(b"contrat_id;participant_id\nC1;P1\n", FAC, FAC.entities["contrats"], "x", KEY)


def test_short_lines_are_kept_with_an_issue():
    rows = read_tabular(b"contrat_id;mois;heures\nC1;2025-10\n", FAC, FAC.entities["heures"], "x", KEY).rows
    assert rows[0]["row_issue"] == "2 fields where the header has 3" and rows[0]["heures_realisees"] is None


def test_undecodable_bytes_are_refused():
    with pytest.raises(TabularFileError, match="neither UTF-8 nor Windows-1252"):
        read_tabular(b"contrat_id;mois\n\x81\x8d;\x90\n", FAC, FAC.entities["heures"], "x", KEY)


def test_xlsx_grand_paris_contracts():
    book = Workbook()
    sheet = book.active
    sheet.append(["Maître d'ouvrage", "Opération", "SIRET acheteur", "N° de marché", "Montant HT (€)",
                  "Date de notification", "Objectif insertion (%)"])
    sheet.append(["Société des grands projets", "GPE ligne 15 Sud", "52504601700013", "2021GPE15", 12500000.5,
                  __import__("datetime").datetime(2021, 3, 15), 10])
    buffer = io.BytesIO()
    book.save(buffer)
    contract = source_contract("grand_paris")
    [row] = read_tabular(buffer.getvalue(), contract, contract.entities["contrats"], None, KEY).rows
    assert row["operation"] == "GPE ligne 15 Sud" and row["montant_ht"] == "12500000.5"
    assert row["date_notification"] == "2021-03-15" and row["objectif_insertion_pct"] == "10"


def test_siae_register_sample_maps_every_column():
    data = (PROJECT_ROOT / "samples" / "siae" / "lemarche_fixture_siae_idf.csv").read_bytes()
    contract = source_contract("structures")
    result = read_tabular(data, contract, contract.entities["structures"], None, KEY)
    assert len(result.rows) == 373 and result.unknown_columns == []
    kinds = {r["type_structure"] for r in result.rows}
    assert kinds == {"EI", "ACI", "AI", "ETTI", "GEIQ", "EA"}


def test_file_names_select_the_entity():
    assert FAC.match("clause93_heures_2025-10.csv").entity.name == "heures"
    assert FAC.match("clause93_heures_2025-10.csv").facilitateur == "clause93"
    assert FAC.match("random.csv") is None
    sirene = source_contract("sirene")
    assert sirene.match("StockEtablissement_utf8_extrait.csv").entity.name == "etablissements"
    assert sirene.match("StockUniteLegale_utf8.csv").entity.name == "unites_legales"
