"""Hostile DECP documents: every mutated document is loaded record by record or refused whole with a
readable reason; nothing else escapes the reader or the normaliser, and memory stays bounded.

Seeded (same seed, same documents): 1,500 JSON and 500 XML mutations of the official examples, plus the
named attacks (deep nesting, giant strings, entity expansion, external entities, odd encodings).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from jobs.core.settings import PROJECT_ROOT
from jobs.ingest.decp_records import KIND_CONCESSION, DecpDocumentError, parse_document
from jobs.silver.decp_normalize import normalize_marche
from tests.unit.fuzz import mutate

SAMPLES = PROJECT_ROOT / "samples" / "decp"
N_JSON, N_XML, SEED = 1500, 500, 20261128
INT32 = 2**31


def _utf8_strings(value) -> None:
    """Raise if a string anywhere in the value cannot be stored as UTF-8 (Arrow, Delta)."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for v in value.values():
            _utf8_strings(v)
    elif isinstance(value, list):
        for v in value:
            _utf8_strings(v)


def load_like_the_pipeline(data: bytes) -> tuple[str, int | str]:
    """What bronze then silver do with one document: ``("loaded", n records)`` or ``("refused", reason)``.

    Any other exception is a crash of the load and fails the test. A loaded record must be storable
    (UTF-8 text) and normalise to values that fit the silver columns (int32 durations, finite amounts).
    """
    try:
        records = parse_document(data)
    except DecpDocumentError as exc:
        reason = str(exc)
        assert reason and len(reason) < 2000, reason[:200]
        return "refused", reason
    for r in records:
        r.record_json.encode("utf-8")
        if r.kind == KIND_CONCESSION:
            continue
        out = normalize_marche(json.loads(r.record_json), r.decp_format)
        _utf8_strings(out)
        durations = [out.get("duree_mois")] + [m["duree_mois"] for m in out.get("modifications") or []]
        assert all(d is None or -INT32 <= d < INT32 for d in durations), durations
        assert all(len(i["message"]) < 2000 for i in out["issues"])
    return "loaded", len(records)


def _seeds(pattern: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted(SAMPLES.glob(pattern))]


@pytest.mark.parametrize(("kind", "n"), [("json", N_JSON), ("xml", N_XML)])
def test_mutated_documents_are_loaded_or_refused_with_a_reason(kind, n):
    cases = (mutate.decp_json_cases(_seeds("*/*.json"), n, SEED) if kind == "json"
             else mutate.decp_xml_cases(_seeds("*/*.xml"), n, SEED + 1))
    outcomes, crashes = Counter(), []
    for label, data in cases:
        try:
            outcomes[load_like_the_pipeline(data)[0]] += 1
        except Exception as exc:  # the point: list every crash, not only the first
            crashes.append(f"{label}: {type(exc).__name__}: {str(exc)[:120]}")
    assert not crashes, "\n".join(crashes[:20])
    assert sum(outcomes.values()) == n
    assert outcomes["loaded"] > n // 10 and outcomes["refused"] > n // 10  # the mutations reach both paths


@pytest.mark.parametrize(("data", "reason"), [
    (mutate.deep_json(100_000), "nested too deeply"),
    (mutate.deep_json_objects(100_000), "nested too deeply"),
    (mutate.deep_xml(100_000), "nested more than"),
    (b'{"marches": [{"id": "1", "montant": 1' + b"0" * 5000 + b"}]}", "unreadable JSON value"),
    (mutate.XML_ENTITY_ATTACKS[0], "refused XML"),  # billion laughs
    (mutate.XML_ENTITY_ATTACKS[1], "refused XML"),  # XXE file:///etc/passwd
    (mutate.XML_ENTITY_ATTACKS[2], "refused XML"),  # parameter entity
    (mutate.XML_ENTITY_ATTACKS[3], "refused XML"),  # external DTD
    (mutate.XML_ENTITY_ATTACKS[5], "unsupported XML encoding"),  # UTF-7
    (mutate.XML_ENTITY_ATTACKS[6], "unsupported XML encoding"),
    (b"\xff\xfe{\x00}\x00", "not UTF-8"),
    (b"", "empty file"),
], ids=["json-100k-arrays", "json-100k-objects", "xml-100k", "int-5000-digits", "billion-laughs", "xxe",
        "parameter-entity", "external-dtd", "utf-7", "unknown-encoding", "utf-16-bom", "empty"])
def test_named_attacks_are_refused_with_their_reason(data, reason):
    outcome, detail = load_like_the_pipeline(data)
    assert outcome == "refused" and reason in detail, detail


def test_xinclude_is_not_followed():
    [record] = parse_document(mutate.XML_ENTITY_ATTACKS[4])
    assert "root:" not in record.record_json  # /etc/passwd never read


def test_huge_and_odd_numbers_are_numbers_or_reported():
    doc = {"marches": [{"id": "1", "acheteur": {"id": "21750001600019"}, "montant": 10**4000,
                        "dureeMois": 1e300, "modifications": [{"dureeMois": 3e9, "montant": float("inf")}]},
                       {"id": "2", "montant": "\ud800", "objet": "\ud800x"}]}
    data = json.dumps(doc, ensure_ascii=True).encode()
    records = parse_document(data)
    a = normalize_marche(json.loads(records[0].record_json), "2022")
    assert a["montant"] is None and a["duree_mois"] is None
    assert {i["rule_id"] for i in a["issues"]} >= {"decp.montant_plausible", "decp.duree_mois_valid"}
    assert all(len(i["message"]) < 300 for i in a["issues"])  # a 4,000-digit value is cut in the message
    b = normalize_marche(json.loads(records[1].record_json), "2022")
    assert b["objet"] == "\ufffdx"  # a lone surrogate cannot be stored; it is replaced, the rest kept


MEMORY_PROBE = textwrap.dedent("""
    import json, resource, sys
    from jobs.ingest.decp_records import DecpDocumentError, parse_document
    from jobs.silver.decp_normalize import normalize_marche
    from tests.unit.fuzz import mutate
    mb = int(sys.argv[1])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = []
    for data in (mutate.giant_string_json(mb), mutate.giant_string_xml(mb), mutate.deep_json(100_000),
                 mutate.deep_xml(100_000), mutate.XML_ENTITY_ATTACKS[0]):
        try:
            records = parse_document(data)
            for r in records:
                normalize_marche(json.loads(r.record_json), r.decp_format)
            outcomes.append(("loaded", len(records), max(len(r.record_json) for r in records)))
        except DecpDocumentError as exc:
            outcomes.append(("refused", str(exc)[:80]))
        del data
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"base_kib": base, "peak_kib": peak, "outcomes": outcomes}))
""")


def test_giant_strings_deep_nesting_and_bombs_keep_memory_bounded():
    """In a fresh process (so its peak RSS is its own): 40 MB strings in JSON and XML, 100k levels of
    nesting, the billion laughs. Peak RSS must stay under base + 8 x the largest document."""
    mb = 40
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(mb)], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    probe = json.loads(out.stdout)
    giant_json, giant_xml, deep_json, deep_xml, laughs = probe["outcomes"]
    assert giant_json[:2] == ["loaded", 1] and giant_json[2] > mb << 20
    assert giant_xml[:2] == ["loaded", 1]
    assert deep_json[0] == deep_xml[0] == laughs[0] == "refused"
    growth_mib = (probe["peak_kib"] - probe["base_kib"]) / 1024
    print(f"peak RSS growth {growth_mib:.0f} MiB for {mb} MiB strings")
    assert growth_mib < 8 * mb, growth_mib
