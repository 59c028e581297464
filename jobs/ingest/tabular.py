"""Read one tabular source file (CSV in any of its real variants, or XLSX) into canonical rows, streamed.

Pure Python, no Spark: the bronze job maps it over landed files, each opened by its path. A CSV file is read
twice: a first pass checks that the whole file decodes (UTF-8 with or without BOM, else Windows-1252) and finds
its separator and line endings; the second yields its rows one at a time, so memory does not grow with the
file. A file is rejected whole (never half-loaded) when it cannot be decoded or lacks required columns; the
message names what is wrong. Person ids are pseudonymised here and names only serve to make the
cross-facilitator person key (``personne_id``), so no direct identifier reaches bronze; birth dates are kept
as ISO dates for the age band (silver drops them). A file carrying several entities (a one-file export) is
split upstream, in ``wide.py``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import BinaryIO

from jobs.core.privacy import birth_date_iso, person_link_key, pseudonymize
from jobs.core.settings import Settings
from schemas.sources import PERSON_LINK_COLUMN, Column, Entity, SourceContract, source_contract

DELIMITERS = (";", ",", "\t", "|")
MAX_FIELD = 1_000_000
MAX_XLSX_INFLATED = 64 << 20  # real workbooks of the sources inflate to a few MiB
MAX_COLUMNS = 1_000
CHUNK = 1 << 20  # bytes read at a time
MAX_HEADER_LINE = 1 << 20  # characters of the first line kept to find the separator
SAMPLE_LINES = 1_000  # lines looked at to describe a file's number and date formats
BOM = codecs.BOM_UTF8
Source = bytes | Callable[[], BinaryIO]  # the bytes, or a function opening the file (read twice)

csv.field_size_limit(MAX_FIELD)


def contract_for(settings: Settings, source: str) -> SourceContract:
    """A source's contract with the facilitators' declarations of ``OBS_SOURCES_DIR`` (default: the
    repository's); raises ``DeclarationError`` when a declaration is wrong."""
    return source_contract(source, settings.sources_dir or None)


class TabularFileError(ValueError):
    """The whole file is refused; the message says why."""


@dataclass
class Dialect:
    """How a file is written, recorded in bronze lineage (``source_*`` columns)."""

    encoding: str  # utf-8, utf-8-sig (UTF-8 with a BOM), cp1252, or xlsx
    delimiter: str | None = None  # None for XLSX
    line_ending: str | None = None  # CRLF, LF, CR or mixed; None for XLSX
    decimal: str | None = None  # "," or "." as written in the numbers of the first lines; None when none
    date_formats: str | None = None  # e.g. "dd/mm/yyyy,mm/yyyy": the date shapes of the first lines


@dataclass
class TabularResult:
    rows: list[dict]
    encoding: str
    delimiter: str | None
    unknown_columns: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)


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


def _opener(source: Source) -> Callable[[], BinaryIO]:
    return source if callable(source) else (lambda: io.BytesIO(source))


def _xlsx_rows(data: bytes) -> Iterator[list[str | None]]:
    """Rows of the first sheet, streamed by openpyxl's read-only mode. The archive's inflated size is bounded
    first (a zip bomb is refused before anything is inflated), and any failure of the parser on a broken
    workbook refuses the file."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise TabularFileError(f"unreadable XLSX workbook: {exc}") from exc
    if inflated > MAX_XLSX_INFLATED:
        raise TabularFileError(f"XLSX workbook inflates to {inflated >> 20} MiB (limit {MAX_XLSX_INFLATED >> 20} "
                               "MiB): refused as a possible zip bomb")
    book = None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not book.worksheets:
            raise TabularFileError("XLSX workbook without any worksheet")
        for n, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            if len(row) > MAX_COLUMNS:
                raise TabularFileError(f"XLSX row {n} spans {len(row)} columns (limit {MAX_COLUMNS})")
            yield [_cell(v) for v in row]
    except TabularFileError:
        raise
    except Exception as exc:  # openpyxl on a hostile workbook: ParseError, ValueError, KeyError, zlib errors...
        raise TabularFileError(f"unreadable XLSX workbook: {type(exc).__name__}: {str(exc)[:200]}") from exc
    finally:
        if book is not None:
            book.close()


def _sniff_text(open_file: Callable[[], BinaryIO]) -> Dialect:
    """First pass over a CSV file: the encoding that decodes all of it, the separator of its first line, its
    line endings. Reads the file in chunks (constant memory)."""
    error_at = 0
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        header, parts, offset, held = None, [], 0, ""
        ends = {"CRLF": 0, "LF": 0, "CR": 0}
        has_bom = False
        try:
            with open_file() as f:
                while chunk := f.read(CHUNK):
                    if offset == 0:
                        has_bom = chunk.startswith(BOM)
                    text = held + decoder.decode(chunk)
                    offset += len(chunk)
                    text, held = (text[:-1], "\r") if text.endswith("\r") else (text, "")
                    crlf = text.count("\r\n")
                    ends["CRLF"] += crlf
                    ends["LF"] += text.count("\n") - crlf
                    ends["CR"] += text.count("\r") - crlf
                    if header is None:
                        parts.append(text.split("\n", 1)[0])
                        if "\n" in text or sum(map(len, parts)) > MAX_HEADER_LINE:
                            header = "".join(parts)[:MAX_HEADER_LINE]
                text = held + decoder.decode(b"", final=True)
                ends["CR"] += text.count("\r")
        except UnicodeDecodeError as exc:
            error_at = offset + exc.start
            continue
        header = header if header is not None else "".join(parts)
        seen = [k for k, v in ends.items() if v]
        return Dialect(encoding if encoding == "cp1252" else ("utf-8-sig" if has_bom else "utf-8"),
                       sniff_delimiter(header), seen[0] if len(seen) == 1 else ("mixed" if seen else None))
    raise TabularFileError(f"neither UTF-8 nor Windows-1252 text (byte {error_at})")


class TabularFile:
    """A CSV or XLSX file opened for streaming: its dialect is known on opening (first pass), its rows are
    read by ``rows()`` (second pass) without holding the file in memory."""

    def __init__(self, source: Source):
        self._open = _opener(source)
        with self._open() as f:
            head = f.read(4)
        if head == b"PK\x03\x04":
            self.dialect = Dialect("xlsx")
        else:
            self.dialect = _sniff_text(self._open)

    def _read_xlsx(self) -> bytes:
        with self._open() as f:
            data = f.read(MAX_XLSX_INFLATED + (1 << 20) + 1)
        if len(data) > MAX_XLSX_INFLATED + (1 << 20):
            raise TabularFileError(f"XLSX workbook larger than {MAX_XLSX_INFLATED >> 20} MiB: refused")
        return data

    def rows(self) -> Iterator[list[str | None]]:
        """Non-empty rows as text (header line included), one at a time."""
        if self.dialect.encoding == "xlsx":
            rows: Iterable[list[str | None]] = _xlsx_rows(self._read_xlsx())
            yield from (r for r in rows if any(v is not None for v in r))
            return
        encoding = "cp1252" if self.dialect.encoding == "cp1252" else "utf-8-sig"
        with self._open() as f:
            text = io.TextIOWrapper(f, encoding=encoding, newline="")
            try:
                for row in csv.reader(text, delimiter=self.dialect.delimiter):
                    cells = [_cell(v) for v in row]
                    if any(v is not None for v in cells):
                        yield cells
            except csv.Error as exc:
                raise TabularFileError(f"malformed CSV: {exc}") from exc


def raw_rows(data: bytes) -> tuple[list[list[str | None]], str, str | None]:
    """(non-empty rows as text, encoding, delimiter) of a small CSV or XLSX file, header line included."""
    f = TabularFile(data)
    return list(f.rows()), f.dialect.encoding, f.dialect.delimiter


_FORMATS = (("dd/mm/yyyy", re.compile(r"\d{1,2}/\d{1,2}/\d{4}")), ("yyyy-mm-dd", re.compile(r"\d{4}-\d{2}-\d{2}")),
            ("mm/yyyy", re.compile(r"\d{1,2}/\d{4}")), ("yyyy-mm", re.compile(r"\d{4}-\d{2}")))
_DECIMALS = ((",", re.compile(r"[+-]?\d[\d \u00a0\u202f]*,\d+")), (".", re.compile(r"[+-]?\d+\.\d+")))


def describe_values(rows: Iterable[list[str | None]], positions: Iterable[int]) -> tuple[str | None, str | None]:
    """(decimal separator, date formats) seen in the given columns of a sample of rows: lineage of how a
    file writes numbers and dates (silver reads every variant anyway)."""
    positions = list(positions)
    decimals, dates = set(), set()
    for row in rows:
        for i in positions:
            v = row[i] if i < len(row) else None
            if not v or len(v) > 40:
                continue
            dates.update(name for name, rx in _FORMATS if rx.fullmatch(v))
            decimals.update(sep for sep, rx in _DECIMALS if rx.fullmatch(v))
    decimal = "mixed" if len(decimals) > 1 else next(iter(decimals), None)
    order = [name for name, _ in _FORMATS]
    return decimal, ",".join(sorted(dates, key=order.index)) or None


@dataclass(frozen=True)
class EntityPlan:
    """How the lines of a file become rows of one entity: header position -> column, and the positions
    kept as ``extra_fields``."""

    entity: Entity
    mapping: dict[int, Column]
    extra: tuple[int, ...] = ()


def entity_plan(contract: SourceContract, entity: Entity, headers: list[str], facilitateur: str | None
                ) -> tuple[EntityPlan, list[str], list[str]]:
    """(plan, unknown headers, dropped headers) of a file holding one entity; refuses a file lacking a required
    column, naming them."""
    mapping, unknown, missing = contract.header_map(entity, headers, facilitateur)
    if missing:
        raise TabularFileError(
            f"required columns missing for {contract.name}/{entity.name}: {', '.join(missing)} "
            f"(headers found: {', '.join(repr(h) for h in headers)})")
    dropped = [headers[i] for i, c in mapping.items() if c.kind == "direct_identifier"]
    if entity.person_level:
        dropped += unknown  # an unexpected column of a person-level file could hold an identifier
    extra = tuple(i for i in range(len(headers)) if i not in mapping) if entity.keep_unknown else ()
    return EntityPlan(entity, mapping, extra), unknown, dropped


def map_row(values: list[str | None], headers: list[str], plan: EntityPlan, namespace: str, key: bytes) -> dict:
    """One line -> one canonical row of the plan's entity (the same for every layout): person ids
    pseudonymised, birth dates as ISO dates, direct identifiers read only to make the person linkage key
    (``personne_id``) and never copied."""
    entity, mapping = plan.entity, plan.mapping
    record: dict[str, object] = {c: None for c in entity.output_columns}
    identifiers: dict[str, str | None] = {}
    issue = None
    if len(values) != len(headers):
        issue = f"{len(values)} fields where the header has {len(headers)}"
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
    record["extra_fields"] = {headers[i]: values[i] for i in plan.extra if i < len(values) and values[i] is not None}
    record["row_issue"] = issue
    return record


def namespace_of(contract: SourceContract, facilitateur: str | None) -> str:
    """Pseudonyms are namespaced by source and facilitator."""
    return f"{contract.name}:{facilitateur or ''}"


def read_tabular(data: Source, contract: SourceContract, entity: Entity, facilitateur: str | None,
                 key: bytes) -> TabularResult:
    """All rows of a file holding one entity, as a list (small files, tests); the bronze job streams
    through ``wide.read_file`` instead."""
    f = TabularFile(data)
    rows = f.rows()
    header = next(rows, None)
    if header is None:
        raise TabularFileError("empty file: no header line")
    headers = [h or "" for h in header]
    plan, unknown, dropped = entity_plan(contract, entity, headers, facilitateur)
    namespace = namespace_of(contract, facilitateur)
    out = [map_row(values, headers, plan, namespace, key) for values in rows]
    return TabularResult(out, f.dialect.encoding, f.dialect.delimiter, unknown, dropped)


def sample(rows: Iterator[list[str | None]], n: int = SAMPLE_LINES) -> tuple[list[list[str | None]],
                                                                                Iterator[list[str | None]]]:
    """The first ``n`` rows (to describe the file) and an iterator over all of them."""
    head = list(islice(rows, n))
    return head, _chain(head, rows)


def _chain(head: list, rest: Iterator) -> Iterator:
    yield from head
    yield from rest
