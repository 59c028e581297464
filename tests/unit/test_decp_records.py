import json

import pytest

from jobs.ingest.decp_records import DecpDocumentError, parse_document
from tests.conftest import SAMPLES


def kinds(path):
    records = parse_document(path.read_bytes())
    return [(r.decp_format, r.kind) for r in records]


def test_2019_package_has_one_marche_and_one_concession():
    assert kinds(SAMPLES / "format-2019-v1.5" / "json_paquet.json") == [
        ("2019", "marche"), ("2019", "contrat-concession")]


def test_2022_container_yields_marches_then_concessions():
    got = kinds(SAMPLES / "format-2022-v2" / "json_marches_concessions.json")
    assert got == [("2022", "marche")] * 2 + [("2022", "contrat-concession")] * 2


def test_dirty_2022_sample_keeps_all_five_marches_unchanged():
    records = parse_document((SAMPLES / "dirty" / "decp-processing_decp_test_2022.json").read_bytes())
    assert len(records) == 5
    original = json.loads((SAMPLES / "dirty" / "decp-processing_decp_test_2022.json").read_text())
    assert [json.loads(r.record_json) for r in records] == original["marches"]["marche"]


def test_2019_concession_without_type_is_recognised_by_its_autorite_concedante():
    doc = {"marches": [{"id": "1", "autoriteConcedante": {"id": "x"}}, {"id": "2", "acheteur": {"id": "y"}}]}
    got = [r.kind for r in parse_document(json.dumps(doc).encode())]
    assert got == ["contrat-concession", "marche"]


def test_non_object_record_is_kept_with_unknown_kind():
    got = parse_document(b'{"marches": {"marche": [{"id": "a"}, "garbage"]}}')
    assert [r.kind for r in got] == ["marche", "unknown"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"marches": [ {"id": "1"', "invalid JSON at line 1"),
        (b'{"foo": []}', "no 'marches' container"),
        (b'{"marches": 3}', "'marches' is a int"),
        ('{"marches": []}'.encode("utf-16"), "not UTF-8"),
    ],
)
def test_unreadable_documents_raise_a_readable_reason(data, reason):
    with pytest.raises(DecpDocumentError, match=reason):
        parse_document(data)


def test_xml_2019_and_2022_records_have_the_json_shapes():
    got = kinds(SAMPLES / "format-2019-v1.5" / "xml_paquet.xml")
    assert got == [("2019", "contrat-concession")] * 2 + [("2019", "marche")] * 2
    assert kinds(SAMPLES / "format-2022-v2" / "xml_Marche.xml") == [("2022", "marche")] * 2
    [single] = parse_document((SAMPLES / "format-2019-v1.5" / "xml_mar-basique.xml").read_bytes())
    record = json.loads(single.record_json)
    assert record["acheteur"] == {"id": "21350238800019", "nom": "Ville de Rennes"}
    assert [t["titulaire"]["id"] for t in record["titulaires"]] == ["81223113200026", "DE814864138"]


def test_xml_control_characters_are_removed_before_parsing():
    data = b"<marches><marche><id>A\x01B</id><objet>x\x0bY</objet></marche></marches>"
    [record] = parse_document(data)
    assert json.loads(record.record_json) == {"id": "AB", "objet": "xY"}


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<marches><marche><objet>&lol3;</objet></marche></marches>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<marches><marche><objet>&xxe;</objet></marche></marches>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["entity-expansion", "external-entity"])
def test_hostile_xml_is_refused(data):
    with pytest.raises(DecpDocumentError, match="refused XML"):
        parse_document(data)
