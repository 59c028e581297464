"""Hostile facilitator and Grand Paris exports: every mutated file is loaded or refused whole with a
readable reason (``TabularFileError``); nothing else escapes the reader, and a zip bomb is refused
before it is inflated.

Seeded: 1,200 mutations of the generator's own exports (CSV in each facilitator's dialect, XLSX).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import date

import pytest

from generator.core import generate_all
from jobs.core.settings import PROJECT_ROOT
from jobs.ingest.tabular import MAX_XLSX_INFLATED, TabularFileError, read_tabular
from schemas.sources import source_contract
from tests.unit.fuzz import mutate

N_CASES, SEED = 1200, 20261128
KEY = b"fuzz-key"
GP_ROWS = [["maitre_ouvrage", "operation", "acheteur_siret", "marche_id", "montant_ht", "date_notification"],
           ["SGP", "L15", "52504601700013", "2021GPE15", 3.5, "2021-03-15"]]


def read_like_bronze(name: str, data: bytes):
    """What the bronze job does with one landed file: the entity from the name, then the reader."""
    for source in ("facilitateurs", "grand_paris"):
        contract = source_contract(source)
        match = contract.match(name)
        if match:
            return read_tabular(data, contract, match.entity, match.facilitateur, KEY)
    raise AssertionError(f"seed name {name} matches no contract")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> list[tuple[str, bytes]]:
    inbox = tmp_path_factory.mktemp("seeds")
    generate_all(inbox, 60, date(2024, 1, 1), date(2024, 6, 1), seed=3,
                 sources=("decp", "facilitateurs", "grand_paris"))
    files = sorted((inbox / "facilitateurs").glob("*.csv")) + sorted((inbox / "grand_paris").glob("*"))
    out = [(p.name, p.read_bytes()) for p in files] + [("contrats_sgp_2024.xlsx", mutate._xlsx(GP_ROWS))]
    assert len(out) > 10
    return out


def test_mutated_exports_are_loaded_or_refused_with_a_reason(seeds):
    outcomes, crashes = Counter(), []
    for label, name, data in mutate.tabular_cases(seeds, N_CASES, SEED):
        try:
            result = read_like_bronze(name, data)
        except TabularFileError as exc:
            assert str(exc), label
            outcomes["refused"] += 1
            continue
        except Exception as exc:  # the point: list every crash, not only the first
            crashes.append(f"{label} ({name}): {type(exc).__name__}: {str(exc)[:120]}")
            continue
        for row in result.rows:  # what reaches Spark: text or nothing, extra fields serialisable
            assert all(v is None or isinstance(v, str) for k, v in row.items() if k != "extra_fields"), label
            json.dumps(row["extra_fields"], ensure_ascii=False).encode("utf-8")
        outcomes["loaded"] += 1
    assert not crashes, "\n".join(crashes[:20])
    assert outcomes["loaded"] > N_CASES // 10 and outcomes["refused"] > N_CASES // 10, outcomes


def _sheet(hook):
    return mutate._xlsx(GP_ROWS, hook)


@pytest.mark.parametrize(("data", "reason"), [
    (_sheet(lambda x: x[: len(x) // 2]), "unreadable XLSX"),  # sheet XML cut in the middle
    (_sheet(lambda x: x.replace(b"<v>3.5</v>", b"<v>abc</v>")), "unreadable XLSX"),  # text in a number cell
    (_sheet(lambda x: x.replace(b'r="E2"', b'r="!!"')), "unreadable XLSX"),  # broken cell reference
    (_sheet(lambda x: x.replace(b"<v>3.5</v>", b"<v>\x00</v>")), "unreadable XLSX"),  # NUL inside the XML
    (mutate.xlsx_with_doctype(GP_ROWS), "unreadable XLSX"),  # XXE inside the workbook
    (b"PK\x03\x04" + b"\x00" * 100, "unreadable XLSX"),  # binary garbage named .xlsx
    (mutate.xlsx_bomb(100), "possible zip bomb"),
    (b"", "no column separator"),  # nothing at all, named .xlsx
], ids=["truncated-sheet", "text-in-number", "bad-reference", "nul", "xxe", "garbage", "zip-bomb", "empty"])
def test_broken_and_hostile_workbooks_are_refused(data, reason):
    with pytest.raises(TabularFileError, match=reason):
        read_like_bronze("contrats_sgp_2024.xlsx", data)


def test_formula_looking_cells_stay_text():
    data = ("Id contrat;Période;Heures\n=cmd|' /C calc'!A0;10/2024;=1+1\n").encode()
    [row] = read_like_bronze("clause93_heures_2024.csv", data).rows
    assert row["contrat_id"] == "=cmd|' /C calc'!A0" and row["heures_realisees"] == "=1+1"


BOMB_PROBE = textwrap.dedent("""
    import json, resource, sys
    from schemas.sources import source_contract
    from jobs.ingest.tabular import TabularFileError, read_tabular
    from tests.unit.fuzz import mutate
    data = mutate.xlsx_bomb(int(sys.argv[1]))
    contract = source_contract("grand_paris")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        read_tabular(data, contract, contract.entities["contrats"], None, b"k")
        outcome = "loaded"
    except TabularFileError as exc:
        outcome = str(exc)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"compressed": len(data), "growth_kib": peak - base, "outcome": outcome}))
""")


def test_zip_bomb_is_refused_before_inflating():
    """A 256 MiB sheet compressed to ~0.3 MiB: refused, and the process grows by less than 50 MiB."""
    out = subprocess.run([sys.executable, "-c", BOMB_PROBE, "256"], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=180, check=True)
    probe = json.loads(out.stdout)
    assert "possible zip bomb" in probe["outcome"], probe
    assert probe["compressed"] < 2 << 20 and MAX_XLSX_INFLATED < (256 << 20)
    assert probe["growth_kib"] < 50 << 10, probe
