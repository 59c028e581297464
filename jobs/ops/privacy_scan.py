"""Scan the lake's zones beyond raw and the published outputs for direct identifiers of persons.

``python -m jobs.ops.privacy_scan <lake> <output>`` (local lake): first reads the facilitators' raw files to
collect the identifiers actually present (raw person ids, first and last names, birth dates, phone
numbers, e-mails, NIR, addresses, found through the source contract's column kinds), then scans every
file of ``bronze``, ``silver``, ``gold`` and ``quarantine`` (Parquet values of every version still on
disk, Delta logs with their column statistics) and every file under the output folder (HTML, JSON, CSV,
Parquet, XLSX, PDF text...) for them, plus anything shaped like an e-mail, a French phone number or a
NIR. Prints what it searched and what it found; exit status 1 when something is found.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path

from jobs.core.settings import Settings
from jobs.ingest.tabular import TabularFileError, contract_for, raw_rows

ZONES = ("bronze", "silver", "gold", "quarantine")
# The one place beyond raw where an identifier may be: bronze keeps the participants' birth date (ISO) for the
# silver step that computes the age band (the first worked contract is only known there). Anywhere else, in any
# other column or table, a birth date is a finding. (category, where the finding is, as a prefix, and the
# Parquet column it must be in; "" = any part of the file, for the table's Delta log and its statistics)
ALLOWED = (("birth_date", "bronze/facilitateurs_participants/_delta_log/", ""),
           ("birth_date", "bronze/facilitateurs_participants/part-", " [date_naissance]"))
CODE_SUFFIXES = {".js", ".css", ".map"}
PERSON_SOURCES = ("facilitateurs",)
WORD = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")
DATE = re.compile(r"(?<![\d/.-])(\d{1,4})[/.-](\d{1,2})[/.-](\d{1,4})(?![\d/.-]\d)")
EMAIL_LOCAL = re.compile(r"[\w.+-]{1,64}$")
EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PHONE_FR = re.compile(r"(?<![\w+.,])(?:\+33[\s.]?|0033[\s.]?|0)[1-9](?:[\s.-]?\d{2}){4}(?![\w.,]*\d)")
NIR = re.compile(r"(?<![\w.,])[12]\s?\d{2}\s?(?:0[1-9]|1[0-2])\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}(?:\s?\d{2})?"
                 r"(?![\w.,])")


@dataclass
class Identifiers:
    """The direct identifiers present in the raw files, in the forms they would take downstream."""
    person_ids: set[str] = field(default_factory=set)
    full_names: set[tuple[str, str]] = field(default_factory=set)  # (first, last) and (last, first), lower case
    names: set[str] = field(default_factory=set)  # first and last names, as written (whole cells)
    birth_dates: set[str] = field(default_factory=set)  # ISO
    phones: set[str] = field(default_factory=set)  # digits, national form
    emails: set[str] = field(default_factory=set)
    nirs: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {"person_ids": len(self.person_ids), "full_names": len(self.full_names) // 2,
                "names": len(self.names), "birth_dates": len(self.birth_dates), "phones": len(self.phones),
                "emails": len(self.emails), "nirs": len(self.nirs), "addresses": len(self.addresses)}


@dataclass(frozen=True)
class Finding:
    category: str
    where: str
    sample: str  # masked: enough to look it up, not to copy it

    def line(self) -> str:
        return f"{self.category}: {self.where}: {self.sample}"


def _digits(value: str) -> str:
    d = re.sub(r"\D", "", value)
    return "0" + d[2:] if d.startswith("33") and len(d) == 11 else d


def iso_date(value: str) -> str | None:
    """ISO form of a dd/mm/yyyy, yyyy-mm-dd (or dotted) date; None when it is not one."""
    m = DATE.fullmatch(value.strip()) or DATE.search(value.strip())
    if not m:
        return None
    a, b, c = m.groups()
    y, mo, d = (a, b, c) if len(a) == 4 else (c, b, a)
    try:
        return date(int(y), int(mo), int(d)).isoformat() if len(y) == 4 else None
    except ValueError:
        return None


def _landed_name(path: Path) -> str:
    return re.sub(r"^[0-9a-f]{16}_", "", path.name)


def collect_identifiers(raw_root: Path) -> tuple[Identifiers, int]:
    """(identifiers, files read) from the raw zone's person-level files, columns found by their kind."""

    ids = Identifiers()
    n_files = 0
    for source in PERSON_SOURCES:
        contract = contract_for(Settings.from_env(), source)  # the declared headers too
        for path in sorted((raw_root / source).rglob("*")):
            match = contract.match(_landed_name(path)) if path.is_file() else None
            if match is None:
                continue
            try:
                rows, _, _ = raw_rows(path.read_bytes())
            except TabularFileError:
                continue
            if not rows:
                continue
            n_files += 1
            headers = [h or "" for h in rows[0]]
            mapping = {}  # a one-file export: what any entity would read in it
            for entity in [match.entity] if match.entity is not None else list(contract.entities.values()):
                for i, col in contract.header_map(entity, headers, match.facilitateur)[0].items():
                    mapping.setdefault(i, col)
            for values in rows[1:]:
                cells = {col.name: (values[i] or "").strip() for i, col in mapping.items() if i < len(values)}
                kinds = {col.name: col.kind for col in mapping.values()}
                for name, value in cells.items():
                    if not value:
                        continue
                    if kinds[name] == "person_id":
                        ids.person_ids.add(value)
                    elif kinds[name] == "birth_date" and iso_date(value):
                        ids.birth_dates.add(iso_date(value))
                    elif name in ("nom", "prenom"):
                        ids.names.add(value)
                    elif name == "telephone":
                        ids.phones.add(_digits(value))
                    elif name == "email":
                        ids.emails.add(value.lower())
                    elif name == "nir":
                        ids.nirs.add(_digits(value))
                    elif name == "adresse":
                        ids.addresses.add(value.lower())
                first, last = cells.get("prenom", "").lower(), cells.get("nom", "").lower()
                if first and last:
                    ids.full_names |= {(first, last), (last, first)}
    return ids, n_files


def _mask(value: str) -> str:
    return value[:2] + "…" + value[-1:] if len(value) > 4 else value[:1] + "…"


def emails(text: str) -> Iterator[str]:
    """E-mail addresses, found from each ``@`` (a plain regex backtracks quadratically on megabyte words)."""
    at = text.find("@")
    while at != -1:
        local = EMAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = EMAIL_DOMAIN.match(text, at + 1, at + 256)
        if local and domain:
            yield f"{local.group(0)}@{domain.group(0)}"
        at = text.find("@", at + 1)


def scan_text(text: str, ids: Identifiers, where: str, shapes: bool = True) -> list[Finding]:
    """Identifiers of the raw files, and (``shapes``) anything shaped like an e-mail, a French phone or a NIR."""
    out = []
    words = [m.group(0) for m in WORD.finditer(text)]
    lower = [w.lower() for w in words]
    for w in words:
        if w in ids.person_ids:
            out.append(Finding("person_id", where, _mask(w)))
    for a, b in pairwise(lower):
        if (a, b) in ids.full_names:
            out.append(Finding("full_name", where, f"{_mask(a)} {_mask(b)}"))
    for m in DATE.finditer(text):
        iso = iso_date(m.group(0))
        if iso and iso in ids.birth_dates:
            out.append(Finding("birth_date", where, iso[:4] + "-…"))
    for email in emails(text):
        kind = "email" if email.lower() in ids.emails else "email_shaped"
        if shapes or kind == "email":
            out.append(Finding(kind, where, _mask(email)))
    for m in PHONE_FR.finditer(UUID.sub(" ", text)):  # Delta's file names hold UUIDs: "…-0585-4507-89ed-…"
        kind = "phone" if _digits(m.group(0)) in ids.phones else "phone_shaped"
        if shapes or kind == "phone":
            out.append(Finding(kind, where, _mask(m.group(0))))
    for m in NIR.finditer(text):
        kind = "nir" if _digits(m.group(0)) in ids.nirs else "nir_shaped"
        if shapes or kind == "nir":
            out.append(Finding(kind, where, _mask(m.group(0))))
    low = text.lower()
    out += [Finding("address", where, _mask(a)) for a in ids.addresses if len(a) > 8 and a in low]
    return out


def _walk(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v)


def _table_strings(table) -> Iterator[tuple[str, list[str]]]:
    import pyarrow as pa

    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or \
                pa.types.is_nested(column.type) or pa.types.is_dictionary(column.type):
            yield name, [s for v in column.to_pylist() for s in _walk(v)]


def scan_values(values: Iterable[str], ids: Identifiers, where: str) -> list[Finding]:
    """Cells: a whole cell equal to a first or last name, then the text scan of every cell."""
    out = []
    for v in values:  # cell by cell: joined cells would make phone numbers out of neighbouring dates
        if v.strip() in ids.names:
            out.append(Finding("name", where, _mask(v)))
        out += scan_text(v, ids, where)
    return out


def scan_file(path: Path, ids: Identifiers, where: str) -> tuple[list[Finding], int]:
    """(findings, values or characters scanned) for one file, read according to its kind."""
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if suffix == ".parquet" or data[:4] == b"PAR1":
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        findings, n = [], 0
        for column, values in _table_strings(table):
            findings += scan_values(values, ids, f"{where} [{column}]")
            n += len(values)
        return findings, n
    if suffix == ".xlsx":

        rows, _, _ = raw_rows(data)
        values = [v for r in rows for v in r if v]
        return scan_values(values, ids, where), len(values)
    if suffix == ".pdf":
        from pypdf import PdfReader

        text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
        return scan_text(text, ids, where), len(text)
    text = data.decode("utf-8", "replace")
    if suffix == ".csv":
        import csv

        values = [v for row in csv.reader(io.StringIO(text), delimiter=";" if text.count(";") > text.count(",")
                                          else ",") for v in row]
        return scan_values(values, ids, where), len(text)
    # Code (plotly.js, copied verbatim from its package) is searched for the raw identifiers only: its
    # digit and "@" strings are not personal data.
    return scan_text(text, ids, where, shapes=suffix not in CODE_SUFFIXES), len(text)


@dataclass
class ScanReport:
    identifiers_searched: dict[str, int]
    raw_files_read: int
    files_scanned: int
    values_scanned: int
    by_suffix: dict[str, int]
    findings: list[Finding]

    def summary(self) -> dict:
        return {"identifiers_searched": self.identifiers_searched, "raw_files_read": self.raw_files_read,
                "files_scanned": self.files_scanned, "values_or_chars_scanned": self.values_scanned,
                "files_by_suffix": self.by_suffix, "findings": len(self.findings),
                "findings_by_category": dict(Counter(f.category for f in self.findings))}


def allowed(finding: Finding) -> bool:
    """The finding is one ``ALLOWED`` names (the birth date in bronze participants' own column)."""
    return any(finding.category == category and finding.where.startswith(prefix) and finding.where.endswith(column)
               for category, prefix, column in ALLOWED)


def scan(lake: Path, output: Path, zones: tuple[str, ...] = ZONES, ids: Identifiers | None = None) -> ScanReport:
    """Scan the zones of the lake and the output folder for ``ids`` (default: those of the raw files);
    findings ``ALLOWED`` are left out."""
    raw_files = 0
    if ids is None:
        ids, raw_files = collect_identifiers(lake / "raw")
    findings, files, values, suffixes = [], 0, 0, Counter()
    roots = [lake / z for z in zones] + [output]
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if not path.is_file():
                continue
            where = str(path.relative_to(root.parent))
            found, n = scan_file(path, ids, where)
            findings += [f for f in found if not allowed(f)]
            files += 1
            values += n
            suffixes[path.suffix.lower() or "(none)"] += 1
    return ScanReport(ids.counts(), raw_files, files, values, dict(suffixes), findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lake", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    report = scan(args.lake, args.output)
    shaped = [f for f in report.findings if f.category.endswith("_shaped")]
    for f in [f for f in report.findings if f not in shaped][:200] + shaped[:50]:
        print(f.line())
    print(json.dumps(report.summary(), indent=1))
    sys.exit(1 if report.findings else 0)


if __name__ == "__main__":
    main()
