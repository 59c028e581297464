"""DECP XML documents (2019 and 2022 schemas) -> the same record dicts as the JSON formats.

Parsing refuses DTDs, entity declarations and external references (defusedxml): a hostile document
is rejected, not expanded. ASCII control characters, which XML forbids but real files carry, are
removed before parsing (as decp-processing does).
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

KIND_TAGS = ("marche", "contrat-concession")
# Plural elements of the schemas: their content is always a list, even with a single child.
LIST_WRAPPERS = {
    "titulaires", "modifications", "concessionnaires", "donneesExecution", "actesSousTraitance",
    "modificationsActesSousTraitance", "modificationActesSousTraitance", "tarifs", "considerationsSociales",
    "considerationsEnvironnementales", "techniques", "modalitesExecution", "typesPrix",
}
# Elements only the 2022 schema has: their presence tells a 2022 record from a 2019 one.
MARKERS_2022 = {"considerationsSociales", "considerationsEnvironnementales", "techniques", "modalitesExecution",
                "typesPrix", "ccag", "offresRecues"}
MAX_DEPTH = 100  # element_to_value recurses; real DECP documents are a handful of levels deep
_CONTROL_CHARS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class DecpXmlError(ValueError):
    pass


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def element_to_value(el: Element) -> Any:
    """Leaf -> its text (None when empty); element with children -> dict, repeated tags -> lists."""
    children = list(el)
    tag = _local(el.tag)
    if not children:
        text = (el.text or "").strip()
        if tag in LIST_WRAPPERS:
            return [] if not text else [text]
        return text or None
    if tag in LIST_WRAPPERS:
        return [{_local(c.tag): element_to_value(c)} for c in children]
    out: dict[str, Any] = {}
    for child in children:
        key, value = _local(child.tag), element_to_value(child)
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def max_depth(root: Element) -> int:
    """Depth of the tree, computed without recursion (a hostile file may nest 100,000 levels)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        el, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in el)
    return deepest


def record_format(record: dict[str, Any]) -> str:
    return "2022" if MARKERS_2022 & set(record) else "2019"


def parse_xml(data: bytes) -> list[tuple[str, str, Any]]:
    """(format, kind, record) for every ``marche`` / ``contrat-concession`` of an XML document."""
    try:
        root = fromstring(_CONTROL_CHARS.sub(b"", data), forbid_dtd=True, forbid_entities=True,
                         forbid_external=True)
    except DefusedXmlException as exc:
        raise DecpXmlError(f"refused XML: {type(exc).__name__} (DTDs, entities and external references "
                           "are not accepted)") from exc
    except ParseError as exc:
        raise DecpXmlError(f"invalid XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # an unknown or multi-byte encoding declared in the prolog
        raise DecpXmlError(f"unsupported XML encoding: {exc}") from exc
    tag = _local(root.tag)
    if tag in KIND_TAGS:
        elements = [root]
    elif tag == "marches":
        elements = list(root)
    else:
        raise DecpXmlError(f"root element <{tag}> is neither <marches>, <marche> nor <contrat-concession>")
    if max_depth(root) > MAX_DEPTH:
        raise DecpXmlError(f"XML nested more than {MAX_DEPTH} levels deep (a DECP record has fewer than 10)")
    out = []
    for el in elements:
        kind = _local(el.tag)
        value = element_to_value(el)
        if kind not in KIND_TAGS or not isinstance(value, dict):
            out.append(("2022", "unknown", {kind: value}))
            continue
        out.append((record_format(value), kind, value))
    return out
