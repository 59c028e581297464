"""Split a DECP document (2019 or 2022 format, JSON) into its published records, shape untouched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jobs.ingest.decp_xml import DecpXmlError, parse_xml

KIND_MARCHE = "marche"
KIND_CONCESSION = "contrat-concession"
KIND_UNKNOWN = "unknown"

_TYPE_TO_KIND = {"marché": KIND_MARCHE, "marche": KIND_MARCHE, "contrat de concession": KIND_CONCESSION}


class DecpDocumentError(ValueError):
    """The document is not a DECP document at all (the whole file goes to quarantine)."""


@dataclass(frozen=True)
class RawRecord:
    decp_format: str  # "2019" | "2022"
    kind: str  # marche | contrat-concession | unknown
    index: int  # position of the record in its file
    record_json: str  # the record exactly as published, re-serialised


def _kind_2019(item: Any) -> str:
    if not isinstance(item, dict):
        return KIND_UNKNOWN
    declared = item.get("_type")
    if isinstance(declared, str) and declared.strip().lower() in _TYPE_TO_KIND:
        return _TYPE_TO_KIND[declared.strip().lower()]
    # MINEF's rule when _type is missing: a concession has an autorité concédante.
    if "autoriteConcedante" in item or "concessionnaires" in item:
        return KIND_CONCESSION
    return KIND_MARCHE


def _dump(item: Any) -> str:
    """The record re-serialised; lone surrogates (``"\\ud800"`` in the file) stay escaped, as published,
    so the text can be stored as UTF-8 (Arrow and Delta refuse unpaired surrogates)."""
    text = json.dumps(item, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(item, ensure_ascii=True)
    return text


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def iter_records(doc: Any) -> Iterator[RawRecord]:
    """Yield every record of a parsed DECP JSON document, in file order.

    2019: ``{"marches": [ ... ]}`` (each item may carry ``_type``);
    2022: ``{"marches": {"marche": [...], "contrat-concession": [...]}}``.
    """
    if isinstance(doc, list):  # some platforms publish the bare 2019 list
        container: Any = doc
    elif isinstance(doc, dict) and "marches" in doc:
        container = doc["marches"]
    else:
        found = list(doc)[:5] if isinstance(doc, dict) else type(doc).__name__
        raise DecpDocumentError(f"no 'marches' container at the top of the document (found {found})")

    index = 0
    if isinstance(container, list):
        for item in container:
            yield RawRecord("2019", _kind_2019(item), index, _dump(item))
            index += 1
    elif isinstance(container, dict):
        unknown = sorted(set(container) - {KIND_MARCHE, KIND_CONCESSION})
        if unknown and not any(k in container for k in (KIND_MARCHE, KIND_CONCESSION)):
            raise DecpDocumentError(f"'marches' object holds neither 'marche' nor 'contrat-concession' ({unknown})")
        for kind in (KIND_MARCHE, KIND_CONCESSION):
            for item in _as_list(container.get(kind)):
                record_kind = kind if isinstance(item, dict) else KIND_UNKNOWN
                yield RawRecord("2022", record_kind, index, _dump(item))
                index += 1
    else:
        raise DecpDocumentError(f"'marches' is a {type(container).__name__}, expected a list or an object")


def parse_document(data: bytes) -> list[RawRecord]:
    """Decode and split one DECP file (JSON or XML); raises DecpDocumentError with a readable reason."""
    if not data.strip():
        raise DecpDocumentError("empty file")
    if data.lstrip()[:1] == b"<" or (data[:3] == b"\xef\xbb\xbf" and data[3:].lstrip()[:1] == b"<"):

        try:
            return [RawRecord(fmt, kind, i, _dump(rec)) for i, (fmt, kind, rec) in enumerate(parse_xml(data))]
        except DecpXmlError as exc:
            raise DecpDocumentError(str(exc)) from exc
        except RecursionError as exc:
            raise DecpDocumentError("XML nested too deeply") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DecpDocumentError(f"not UTF-8 text (byte {exc.start}): {exc.reason}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecpDocumentError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise DecpDocumentError("JSON nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits (Python's int-from-string limit)
        raise DecpDocumentError(f"unreadable JSON value: {str(exc)[:200]}") from exc
    try:
        return list(iter_records(doc))
    except RecursionError as exc:
        raise DecpDocumentError("JSON nested too deeply") from exc
