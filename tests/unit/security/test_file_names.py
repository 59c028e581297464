"""Odd or malicious file names, in the inbox or in download lists, are refused with a reason; nothing
of them reaches the raw zone (and nothing is written outside it)."""

from __future__ import annotations

import os

import pytest

from jobs.ingest.download import DownloadError, DownloadSpec, target_name
from jobs.ingest.landing import land_inbox, name_problem, safe_name

# (name, the reason's key words): names that cannot exist on a POSIX file system are checked by name only.
HOSTILE_NAMES = [
    ("../../x.json", "path elements"), ("/etc/passwd", "path elements"), ("..\\..\\x.json", "path elements"),
    ("C:\\Windows\\x.json", "path elements"), ("．．／．．／x.json", "path elements"),  # fullwidth dots/slash
    ("a..b.json", "path elements"), ("a\x00b.json", "control"), ("a\nb.json", "control"), ("a\rb.json", "control"),
    ("a\tb.json", "control"), ("a\x1bb.json", "control"), ("facture\u202enosj.exe", "invisible"),  # RTL override
    ("a\u200bb.json", "invisible"), ("\ufeffdecp.json", "invisible"), ("-rf.json", "dash"), ("--help", "dash"),
    (".hidden.json", "dot"), ("r\u0430pport.csv", "non-Latin"),  # Cyrillic а
    ("clause93_heures.c\u0455v", "non-Latin"),  # Cyrillic ѕ
    ("x" * 201 + ".json", "longer than 200"), ("a;rm -rf.json", "unsupported"), ("$(id).json", "unsupported"),
    ("", "empty"),
]
CREATABLE = [(n, r) for n, r in HOSTILE_NAMES if n and "/" not in n and "\x00" not in n and n not in ("..",)
             and len(n.encode()) <= 255 and not n.startswith(".")]


@pytest.mark.parametrize(("name", "reason"), HOSTILE_NAMES, ids=[repr(n)[:30] for n, _ in HOSTILE_NAMES])
def test_hostile_names_are_refused_with_their_reason(name, reason):
    assert safe_name(name) is None
    assert reason in name_problem(name)


@pytest.mark.parametrize("name", ["decp 2024 été.json", "maîtrise d’ouvrage.csv", "ｄｅｃｐ.json",
                                  "clause93_heures_2024-10.csv"])
def test_ordinary_french_names_still_land_folded(name):
    assert name_problem(name) is None and safe_name(name).isascii()


def test_hostile_inbox_files_are_refused_and_nothing_of_them_is_landed(local_settings, now, tmp_path):
    inbox = local_settings.inbox_path / "decp"
    inbox.mkdir(parents=True)
    for name, _ in CREATABLE:
        (inbox / name).write_text('{"marches": []}')
    secret = tmp_path / "secret.json"
    secret.write_text('{"marches": [{"id": "outside"}]}')
    (inbox / "link.json").symlink_to(secret)
    (inbox / "dirlink").symlink_to(tmp_path)
    (inbox / "folder.json").mkdir()
    os.mkfifo(inbox / "pipe.json")  # would block a reader forever
    (inbox / "good.json").write_text('{"marches": []}')

    result = land_inbox(local_settings, "decp", "run", now)

    assert [e["original_name"] for e in result.landed] == ["good.json"]
    refused = {r["name"]: r["reason"] for r in result.refused}
    assert set(refused) == {n for n, _ in CREATABLE} | {"link.json", "dirlink", "folder.json", "pipe.json"}
    for name, reason in CREATABLE:
        assert reason in refused[name], (name, refused[name])
    assert refused["link.json"] == refused["dirlink"] == "symbolic link"
    assert refused["folder.json"] == refused["pipe.json"] == "not a regular file"
    landed = [p for p in local_settings.lake_path.rglob("*") if p.is_file() and "_manifest" not in p.parts]
    assert [p.name.split("_", 1)[1] for p in landed] == ["good.json"]
    assert not any(p for p in tmp_path.iterdir() if p.name not in ("lake", "inbox", "secret.json"))


@pytest.mark.parametrize("url", ["https://h/a/..%2F..%2Fetc%2Fpasswd", "https://h/a/%2Fetc%2Fpasswd",
                                 "https://h/a/x%0Ay.json", "https://h/a/-rf.json", "https://h/a/%E2%80%AEx.json",
                                 "https://h/"])
def test_hostile_download_names_from_urls_are_refused(url):
    with pytest.raises(DownloadError, match="refused download name"):
        target_name(DownloadSpec("decp", url))


def test_hostile_download_source_folder_is_refused():
    with pytest.raises(DownloadError, match="refused source folder"):
        target_name(DownloadSpec("../../etc", "https://h/x.json"))
