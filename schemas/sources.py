"""Contracts of the tabular sources (``schemas/sources/*.yaml``): entities, columns, header synonyms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from schemas.referential import fold

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
TABULAR_SOURCES = ("facilitateurs", "grand_paris", "structures", "sirene")
SOURCES = ("decp", *TABULAR_SOURCES)  # every source, each with its inbox folder and bronze table(s)
COLUMN_KINDS = ("text", "person_id", "birth_date", "direct_identifier")
PERSON_LINK_COLUMN = "personne_id"  # keyed hash of (last name, first name, birth date): one person across sources


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = False
    kind: str = "text"
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entity:
    source: str
    name: str
    columns: tuple[Column, ...]
    person_level: bool = False  # unknown columns are dropped (they could hold identifiers), never kept
    keep_unknown: bool = True
    person_link: tuple[str, ...] = ()  # (last name, first name, birth date) columns hashed into ``personne_id``

    @property
    def table(self) -> str:
        return f"bronze/{self.source}" if self.name == self.source else f"bronze/{self.source}_{self.name}"

    @property
    def output_columns(self) -> list[str]:
        """Columns of the bronze table, in order: what is kept of the source (never direct identifiers)."""
        out = [c.name for c in self.columns if c.kind != "direct_identifier"]
        return [*out, PERSON_LINK_COLUMN] if self.person_link else out


@dataclass(frozen=True)
class FileMatch:
    entity: Entity
    facilitateur: str | None


@dataclass(frozen=True)
class SourceContract:
    name: str
    file_pattern: re.Pattern
    entities: dict[str, Entity]
    default_entity: str | None = None
    entity_names: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)

    def match(self, file_name: str) -> FileMatch | None:
        """Which entity a file holds, from its (landed) name; None when the name says nothing."""
        m = self.file_pattern.match(file_name)
        if not m:
            return None
        groups = m.groupdict()
        entity = groups.get("entity") or self.default_entity
        entity = self.entity_names.get(entity, entity)
        if entity not in self.entities:
            return None
        return FileMatch(self.entities[entity], groups.get("facilitateur"))

    def header_map(self, entity: Entity, headers: list[str], facilitateur: str | None = None
                   ) -> tuple[dict[int, Column], list[str], list[str]]:
        """(header position -> column, unknown headers, missing required columns)."""
        extra = self.overrides.get(facilitateur or "", {}).get(entity.name, {})
        lookup: dict[str, Column] = {}
        for col in entity.columns:
            for label in (col.name, *col.synonyms, *extra.get(col.name, [])):
                lookup.setdefault(fold(label.replace("_", " ")), col)
        mapping: dict[int, Column] = {}
        unknown = []
        for i, header in enumerate(headers):
            col = lookup.get(fold(header.replace("_", " ")))
            if col is not None and col not in mapping.values():
                mapping[i] = col
            else:
                unknown.append(header)
        found = {c.name for c in mapping.values()}
        missing = [c.name for c in entity.columns if c.required and c.name not in found]
        return mapping, unknown, missing


@cache
def source_contract(name: str) -> SourceContract:
    data = yaml.safe_load((SOURCES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    entities = {}
    for ename, edata in data["entities"].items():
        columns = []
        for cname, cdata in edata["columns"].items():
            cdata = cdata or {}
            kind = cdata.get("kind", "text")
            if kind not in COLUMN_KINDS:
                raise ValueError(f"{name}.{ename}.{cname}: unknown column kind {kind!r}")
            columns.append(Column(cname, bool(cdata.get("required")), kind, tuple(cdata.get("synonyms", ()))))
        person_level = bool(edata.get("person_level"))
        link = tuple(edata.get("person_link") or ())
        if link and (len(link) != 3 or not set(link) <= {c.name for c in columns}):
            raise ValueError(f"{name}.{ename}.person_link: three columns of the entity expected, got {list(link)}")
        entities[ename] = Entity(name, ename, tuple(columns), person_level,
                                 keep_unknown=not person_level and edata.get("keep_unknown", True), person_link=link)
    return SourceContract(
        name=name,
        file_pattern=re.compile(data["file_pattern"]),
        entities=entities,
        default_entity=data.get("default_entity"),
        entity_names=data.get("entity_names", {}),
        overrides=data.get("overrides", {}) or {},
    )
