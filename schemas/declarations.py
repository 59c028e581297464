"""Facilitator declarations: one small YAML file per facilitator, outside the code.

A data steward onboards a facilitator by writing ``<id>.yaml`` into the declarations folder
(``OBS_SOURCES_DIR``; default ``schemas/sources/facilitateurs/``), no release needed::

    facilitateur: mdef93                  # id, also the prefix of its files: mdef93_<anything>.csv
    columns:                              # <entity>.<column>: the header (or headers) in its files
      operations.date_debut: "Début opération"
    values:                               # optional: <entity>.<column>: {label in its files: referential code}
      operations.modalite_juridique: {"Clause insertion chantier": CLAUSE_EXECUTION_L2112_2}

Every problem is reported with the file, the key and what is expected, all at once; a folder with any
problem loads nothing (``DeclarationError``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from schemas import referential as ref

KEYS = ("facilitateur", "description", "columns", "values")
FACILITATOR_ID = re.compile(r"^[A-Za-z0-9-]+$")  # the file-name prefix of its exports (no "_")


class DeclarationError(ValueError):
    """Declarations that cannot be used: ``problems`` lists one readable line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid facilitator declarations (nothing loaded):\n" + "\n".join(f"- {p}" for p in problems))


@dataclass(frozen=True)
class Declaration:
    facilitateur: str
    path: str
    columns: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)  # (entity, column) -> headers
    values: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # -> folded label -> code


def _field(key: object, columns: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, str] | None, str]:
    """(entity, column) of an ``<entity>.<column>`` key, or None and what is wrong with it."""
    if not isinstance(key, str) or key.count(".") != 1:
        return None, "expected <entity>.<column>, e.g. operations.date_debut"
    entity, column = key.split(".")
    if entity not in columns:
        return None, f"unknown entity {entity!r}; expected one of {', '.join(columns)}"
    if column not in columns[entity]:
        return None, f"unknown canonical field: {entity} has no column {column!r}; expected one of " \
                     f"{', '.join(columns[entity])}"
    return (entity, column), ""


def _parse(path: Path, data: object, columns: Mapping[str, tuple[str, ...]], code_lists: Mapping[str, str],
           problems: list[str]) -> Declaration | None:
    where = path.name
    if not isinstance(data, dict):
        problems.append(f"{where}: expected a mapping with the keys {', '.join(KEYS)}, found "
                        f"{type(data).__name__}")
        return None
    before = len(problems)
    for key in data:
        if key not in KEYS:
            problems.append(f"{where}: key {key!r}: unknown key; expected one of {', '.join(KEYS)}")
    fac = data.get("facilitateur")
    if not isinstance(fac, str) or not FACILITATOR_ID.match(fac):
        problems.append(f"{where}: key 'facilitateur': expected the facilitator's id (letters, digits and '-', "
                        f"the prefix of its files), found {fac!r}")
    declared: dict[tuple[str, str], tuple[str, ...]] = {}
    raw_columns = data.get("columns") or {}
    if not isinstance(raw_columns, dict):
        problems.append(f"{where}: key 'columns': expected a mapping <entity>.<column>: header")
        raw_columns = {}
    seen: dict[tuple[str, str], str] = {}
    for key, headers in raw_columns.items():
        target, why = _field(key, columns)
        if target is None:
            problems.append(f"{where}: key 'columns.{key}': {why}")
            continue
        labels = [headers] if isinstance(headers, str) else headers
        if not isinstance(labels, list) or not labels or not all(isinstance(h, str) and h.strip() for h in labels):
            problems.append(f"{where}: key 'columns.{key}': expected a header (text) or a list of headers, "
                            f"found {headers!r}")
            continue
        for h in labels:
            other = seen.setdefault((target[0], ref.fold(h)), key)
            if other != key:
                problems.append(f"{where}: key 'columns.{key}': header {h!r} is already declared for {other}")
        declared[target] = tuple(labels)
    values: dict[tuple[str, str], dict[str, str]] = {}
    raw_values = data.get("values") or {}
    if not isinstance(raw_values, dict):
        problems.append(f"{where}: key 'values': expected a mapping <entity>.<column>: {{label: code}}")
        raw_values = {}
    for key, pairs in raw_values.items():
        target, why = _field(key, columns)
        if target is None:
            problems.append(f"{where}: key 'values.{key}': {why}")
            continue
        list_name = code_lists.get(key)
        if list_name is None:
            problems.append(f"{where}: key 'values.{key}': this column is not coded on a referential list; "
                            f"values can be mapped for {', '.join(code_lists)}")
            continue
        if pairs is None:  # listed with no label yet (a draft): nothing mapped
            continue
        if not isinstance(pairs, dict):
            problems.append(f"{where}: key 'values.{key}': expected a mapping {{label in the files: code}}")
            continue
        codes = ref.mapping(list_name).values
        mapped = {}
        for label, code in pairs.items():
            if isinstance(label, bool) or not isinstance(label, str | int | float) or not str(label).strip():
                problems.append(f"{where}: key 'values.{key}': label {label!r}: expected the label as written in "
                                "the files, in quotes")
                continue
            if code not in codes:
                problems.append(f"{where}: key 'values.{key}.{label}': unknown code {code!r} of {list_name}; "
                                f"expected one of {', '.join(codes)}")
                continue
            mapped[ref.fold(str(label))] = code
        values[target] = mapped
    if len(problems) > before:
        return None
    return Declaration(fac, str(path), declared, values)


def load_declarations(directory: str | Path, columns: Mapping[str, tuple[str, ...]],
                      code_lists: Mapping[str, str]) -> dict[str, Declaration]:
    """Every ``*.yaml`` / ``*.yml`` of ``directory``, checked against the contract's entities and columns
    (``columns``: entity -> column names) and the referential lists of its coded columns (``code_lists``:
    ``<entity>.<column>`` -> list name). Raises ``DeclarationError`` listing every problem."""
    folder = Path(directory)
    if not folder.is_dir():
        raise DeclarationError([f"{folder}: the declarations folder (OBS_SOURCES_DIR) does not exist"])
    problems: list[str] = []
    out: dict[str, Declaration] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: not readable as YAML: {str(exc).splitlines()[0]}")
            continue
        decl = _parse(path, data, columns, code_lists, problems)
        if decl is None:
            continue
        if decl.facilitateur in out:
            problems.append(f"{path.name}: key 'facilitateur': {decl.facilitateur!r} is already declared in "
                            f"{Path(out[decl.facilitateur].path).name}; expected one file per facilitator")
            continue
        out[decl.facilitateur] = decl
    if problems:
        raise DeclarationError(problems)
    return out
