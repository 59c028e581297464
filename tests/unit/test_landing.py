import json

from jobs.ingest.landing import land_inbox, read_manifest, safe_name
from tests.conftest import copy_samples


def test_safe_names():
    assert safe_name("decp 2024 été.json") == "decp_2024_ete.json"
    for bad in ("../etc/passwd", "/abs.json", "a\x07b.json", "..json", "a\\b.json", ".hidden"):
        assert safe_name(bad) is None, bad


def test_landing_is_content_addressed_and_idempotent(local_settings, now):
    files = copy_samples(local_settings.inbox_path, "format-2022-v2/json_*.json")
    first = land_inbox(local_settings, "decp", "run-1", now)
    assert len(first.landed) == len(files) == 3
    entry = first.landed[0]
    assert entry["key"].startswith("raw/decp/landed_date=2026-11-28/")
    assert entry["size"] == files[0].stat().st_size
    # the landed bytes are the inbox bytes, unchanged
    landed = (local_settings.lake_path / entry["key"]).read_bytes()
    assert landed == files[0].read_bytes()

    # same files again, one under another name: nothing new lands
    (files[0].parent / "renamed copy.json").write_bytes(files[0].read_bytes())
    second = land_inbox(local_settings, "decp", "run-2", now)
    assert second.landed == [] and len(second.skipped) == 4
    manifest = read_manifest(local_settings, "decp")
    assert sorted(m["sha256"] for m in manifest) == sorted(e["sha256"] for e in first.landed)
    assert json.loads(json.dumps(manifest))[0]["landing_id"] == "run-1"


def test_unsafe_names_and_partial_downloads_are_not_landed(local_settings, now):
    inbox = local_settings.inbox_path / "decp"
    inbox.mkdir(parents=True)
    (inbox / "bad\x01name.json").write_text("{}")
    (inbox / "download.json.part").write_text("{")
    (inbox / "link.json").symlink_to("/etc/hostname")
    result = land_inbox(local_settings, "decp", "run", now)
    assert result.landed == []
    assert sorted(r["name"] for r in result.refused) == ["bad\x01name.json", "link.json"]
    assert all(r["reason"] for r in result.refused)
