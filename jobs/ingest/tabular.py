"""Read one tabular source file (CSV in any of its real variants, or XLSX) into canonical rows.

Pure Python, no Spark: the Spark job maps it over landed files. A file is rejected whole (never
half-loaded) when it cannot be decoded or lacks required columns; the message names what is wrong.
Person ids are pseudonymised here and names only serve to make the cross-facilitator person key, so no
direct identifier reaches bronze; birth dates are kept as ISO dates for the age band (silver drops them).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from jobs.core.privacy import birth_date_iso, person_link_key, pseudonymize
from schemas.sources import PERSON_LINK_COLUMN, Column, Entity, SourceContract

DELIMITERS = (";", ",", "\t", "|")
MAX_FIELD = 1_000_000
MAX_XLSX_INFLATED = 64 << 20  # real workbooks of the sources inflate to a few MiB
MAX_COLUMNS = 1_000


class TabularFileError(ValueError):
    """The whole file is refused; the message says why."""


@dataclass
class TabularResult:
    rows: list[dict]
    encoding: str
    delimiter: str | None
    unknown_columns: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), else Windows-1252 (what French exports use)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise TabularFileError(f"neither UTF-8 nor Windows-1252 text (byte {exc.start})") from exc


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise TabularFileError("no column separator (; , tab |) in the header line")
    return best


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _xlsx_rows(data: bytes) -> list[list[str | None]]:
    """Rows of the first sheet. The archive's inflated size is bounded first (a zip bomb is refused
    before anything is inflated), and any failure of the parser on a broken workbook refuses the file."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise TabularFileError(f"unreadable XLSX workbook: {exc}") from exc
    if inflated > MAX_XLSX_INFLATED:
        raise TabularFileError(f"XLSX workbook inflates to {inflated >> 20} MiB (limit {MAX_XLSX_INFLATED >> 20} "
                               "MiB): refused as a possible zip bomb")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not book.worksheets:
            raise TabularFileError("XLSX workbook without any worksheet")
        rows = []
        for row in book.worksheets[0].iter_rows(values_only=True):
            if len(row) > MAX_COLUMNS:
                raise TabularFileError(f"XLSX row {len(rows) + 1} spans {len(row)} columns (limit {MAX_COLUMNS})")
            rows.append([_cell(v) for v in row])
        book.close()
    except TabularFileError:
        raise
    except Exception as exc:  # openpyxl on a hostile workbook: ParseError, ValueError, KeyError, zlib errors...
        raise TabularFileError(f"unreadable XLSX workbook: {type(exc).__name__}: {str(exc)[:200]}") from exc
    return rows


def _csv_rows(text: str) -> tuple[list[list[str | None]], str]:
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    csv.field_size_limit(MAX_FIELD)
    try:
        rows = [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise TabularFileError(f"malformed CSV: {exc}") from exc
    return rows, delimiter


def raw_rows(data: bytes) -> tuple[list[list[str | None]], str, str | None]:
    """(non-empty rows as text, encoding, delimiter) of a CSV or XLSX file, header line included."""
    if data[:4] == b"PK\x03\x04":
        rows, encoding, delimiter = _xlsx_rows(data), "xlsx", None
    else:
        text, encoding = decode(data)
        rows, delimiter = _csv_rows(text)
    return [r for r in rows if any(v is not None for v in r)], encoding, delimiter


def map_row(values: list[str | None], headers: list[str], mapping: dict[int, Column], entity: Entity,
            namespace: str, key: bytes) -> dict:
    """One source line -> one canonical record: person ids pseudonymised, birth dates as ISO dates, direct
    identifiers read only to make the person linkage key (``personne_id``) and never copied."""
    record: dict[str, object] = {c: None for c in entity.output_columns}
    identifiers: dict[str, str | None] = {}
    for i, col in mapping.items():
        value = values[i] if i < len(values) else None
        if col.kind == "direct_identifier":
            identifiers[col.name] = value
            continue
        if col.kind == "person_id":
            value = pseudonymize(key, namespace, value) if value else None
        elif col.kind == "birth_date":
            value = birth_date_iso(value)
        record[col.name] = value
    if entity.person_link:
        last, first, born = entity.person_link
        record[PERSON_LINK_COLUMN] = person_link_key(
            key, identifiers.get(last, record.get(last)), identifiers.get(first, record.get(first)),
            birth_date_iso(identifiers.get(born, record.get(born))))
    record["extra_fields"] = {headers[i]: values[i] for i in range(min(len(values), len(headers)))
                              if i not in mapping and values[i] is not None} if entity.keep_unknown else {}
    record["row_issue"] = (f"{len(values)} fields where the header has {len(headers)}"
                           if len(values) != len(headers) else None)
    return record


def read_tabular(data: bytes, contract: SourceContract, entity: Entity, facilitateur: str | None,
                 key: bytes) -> TabularResult:
    rows, encoding, delimiter = raw_rows(data)
    if not rows:
        raise TabularFileError("empty file: no header line")
    headers = [h or "" for h in rows[0]]
    mapping, unknown, missing = contract.header_map(entity, headers, facilitateur)
    if missing:
        raise TabularFileError(
            f"required columns missing for {contract.name}/{entity.name}: {', '.join(missing)} "
            f"(headers found: {', '.join(repr(h) for h in headers)})")
    dropped = [headers[i] for i, c in mapping.items() if c.kind == "direct_identifier"]
    if entity.person_level:
        dropped += unknown  # an unexpected column of a person-level file could hold an identifier
    namespace = f"{contract.name}:{facilitateur or ''}"
    out = [map_row(values, headers, mapping, entity, namespace, key) for values in rows[1:]]
    return TabularResult(out, encoding, delimiter, unknown, dropped)
