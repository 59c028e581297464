"""Large DECP JSON documents read as a stream give exactly the records of the whole-document parser (the one the
fuzz tests hold to its refusals), with windows so small that every record crosses a chunk boundary."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest

from jobs.bronze.decp import file_frames
from jobs.core.storage import ObjectStore
from jobs.ingest import decp_stream
from jobs.ingest.decp_records import DecpDocumentError, parse_document
from tests.conftest import SAMPLES

HOSTILE = {
    "nan_and_huge_float": b'{"marches": [{"a": NaN}, {"b": 1e400}]}',
    "lone_surrogate": json.dumps({"marches": [{"objet": "\ud800x"}]}, ensure_ascii=True).encode(),
    "bare_list": b'[{"id": 1}, 2, "x"]',
    "concessions_first_single_marche": b'{"marches": {"contrat-concession": [{"id": "c"}], "marche": {"id": "m"}}}',
    "bom": b'\xef\xbb\xbf{"marches": [{"id": "\xc3\xa9"}]}',
    "number_at_the_end": b"[1234567890123]",
}
REFUSED = {
    "truncated": b'{"marches": [{"id": "T1"}, {"id": "cut',
    "unknown_container": b'{"marches": {"autre": []}}',
    "scalar_container": b'{"marches": 3}',
    "no_container": b'{"x": 1}',
    "extra_data": b'{"marches": []} x',
    "latin1": b'{"marches": [{"id": "\xe9"}]}',
    "int_of_5000_digits": b'{"marches": [{"montant": 1' + b"0" * 5000 + b"}]}",
    "empty": b"",
}


@pytest.fixture(autouse=True)
def tiny_windows(monkeypatch):
    monkeypatch.setattr(decp_stream, "CHUNK", 7)


def streamed(data: bytes):
    return list(decp_stream.stream_records(lambda: io.BytesIO(data)))


@pytest.mark.parametrize("path", sorted(SAMPLES.rglob("*.json")), ids=lambda p: p.name)
def test_official_and_dirty_samples_stream_as_they_parse(path):
    data = path.read_bytes()
    assert streamed(data) == parse_document(data)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_odd_documents_stream_as_they_parse(name):
    assert streamed(HOSTILE[name]) == parse_document(HOSTILE[name])


def test_marches_come_before_concessions_whatever_the_order_in_the_file():
    records = streamed(HOSTILE["concessions_first_single_marche"])
    assert [(r.index, r.decp_format, r.kind, r.record_json) for r in records] == [
        (0, "2022", "marche", '{"id": "m"}'), (1, "2022", "contrat-concession", '{"id": "c"}')]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_broken_documents_are_refused_as_the_parser_refuses_them(name):
    with pytest.raises(DecpDocumentError):
        parse_document(REFUSED[name])
    with pytest.raises(DecpDocumentError):
        streamed(REFUSED[name])


def test_bronze_streams_a_large_document_and_ends_a_broken_one_with_its_error(tmp_path, local_settings):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes(b'{"marches": [{"id": "A"}, {"id": "B"}]}')
    bad.write_bytes(b'{"marches": [{"id": "A"}, {"id": "B"}, {"id": ')
    store = ObjectStore(local_settings)

    def row(path):
        return SimpleNamespace(source_file=str(path), source_sha256="sha", uri=str(path), size=path.stat().st_size)

    [frame] = list(file_frames(store, row(good), stream_above=10))
    assert list(frame["record_json"]) == ['{"id": "A"}', '{"id": "B"}']
    frames = list(file_frames(store, row(bad), stream_above=10))
    assert frames[-1]["file_error"].tolist()[0].startswith("invalid JSON at character")
    # the same bad file under the threshold: parsed whole, refused at once
    [whole] = list(file_frames(store, row(bad), stream_above=10**9))
    assert whole["file_error"].notna().all()
