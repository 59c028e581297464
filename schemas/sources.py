"""Contracts of the tabular sources (``schemas/sources/*.yaml``): entities, columns, header synonyms, and,
for the facilitators, their declarations (``schemas/declarations.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import yaml

from schemas.declarations import Declaration, load_declarations
from schemas.referential import fold

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
DECLARATIONS_DIR = SOURCES_DIR / "facilitateurs"  # the repository's facilitator declarations
TABULAR_SOURCES = ("facilitateurs", "grand_paris", "structures", "sirene")
SOURCES = ("decp", *TABULAR_SOURCES)  # every source, each with its inbox folder and bronze table(s)
COLUMN_KINDS = ("text", "person_id", "birth_date", "direct_identifier")
PERSON_LINK_COLUMN = "personne_id"  # keyed hash of (last name, first name, birth date): one person across sources
READERS = ("python", "spark_csv")  # spark_csv: Spark reads the file in parallel splits (large public files)


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
    entity: Entity | None  # None: a one-file ("wide") export, whose headers say which entities it carries
    facilitateur: str | None

    @property
    def layout(self) -> str:
        return "entity" if self.entity is not None else "wide"


@dataclass(frozen=True)
class SourceContract:
    name: str
    file_pattern: re.Pattern
    entities: dict[str, Entity]
    default_entity: str | None = None
    entity_names: dict[str, str] = field(default_factory=dict)
    wide_file_pattern: re.Pattern | None = None
    same_value: tuple[frozenset[tuple[str, str]], ...] = ()  # columns holding one value (shared identifiers)
    code_lists: dict[str, str] = field(default_factory=dict)  # "<entity>.<column>" -> referential list
    reader: str = "python"
    declarations: dict[str, Declaration] = field(default_factory=dict)

    def match(self, file_name: str) -> FileMatch | None:
        """Which entity a file holds, from its (landed) name; a one-file export (entity None) when the name
        only gives the facilitator; None when the name says nothing."""
        m = self.file_pattern.match(file_name)
        if not m:
            w = self.wide_file_pattern.match(file_name) if self.wide_file_pattern else None
            return FileMatch(None, w.group("facilitateur")) if w else None
        groups = m.groupdict()
        entity = groups.get("entity") or self.default_entity
        entity = self.entity_names.get(entity, entity)
        if entity not in self.entities:
            return None
        return FileMatch(self.entities[entity], groups.get("facilitateur"))

    def group_of(self, entity: str, column: str) -> frozenset[tuple[str, str]]:
        """The columns holding the same value as ``entity.column`` (itself included)."""
        return next((g for g in self.same_value if (entity, column) in g), frozenset({(entity, column)}))

    def declared_headers(self, entity: str, column: str, facilitateur: str | None) -> tuple[str, ...]:
        """Headers a facilitator declared for this column (or for a column holding the same value)."""
        decl = self.declarations.get(facilitateur or "")
        if decl is None:
            return ()
        return tuple(h for e, c in sorted(self.group_of(entity, column)) for h in decl.columns.get((e, c), ()))

    def labels(self, entity: Entity, column: Column) -> tuple[str, ...]:
        """The column's name and synonyms, with those of the columns holding the same value."""
        out = [column.name, *column.synonyms]
        for e, c in sorted(self.group_of(entity.name, column.name) - {(entity.name, column.name)}):
            other = next(x for x in self.entities[e].columns if x.name == c)
            out += [other.name, *other.synonyms]
        return tuple(out)

    def header_candidates(self, entity: Entity, facilitateur: str | None) -> dict[str, tuple[Column, bool]]:
        """Folded header -> (column, declared?) for one entity: declared headers first, then names and
        synonyms (a declared header is never taken by another column of the entity)."""
        lookup: dict[str, tuple[Column, bool]] = {}
        for col in entity.columns:
            for label in self.declared_headers(entity.name, col.name, facilitateur):
                lookup.setdefault(fold(label.replace("_", " ")), (col, True))
        for col in entity.columns:
            for label in self.labels(entity, col):
                lookup.setdefault(fold(label.replace("_", " ")), (col, False))
        return lookup

    def header_map(self, entity: Entity, headers: list[str], facilitateur: str | None = None
                   ) -> tuple[dict[int, Column], list[str], list[str]]:
        """(header position -> column, unknown headers, missing required columns). A declared header wins over
        a synonym for the same column; otherwise the first header naming a column wins."""
        lookup = self.header_candidates(entity, facilitateur)
        best: dict[str, tuple[bool, int]] = {}
        for i, header in enumerate(headers):
            hit = lookup.get(fold(header.replace("_", " ")))
            if hit is not None:
                col, declared = hit
                if col.name not in best or (declared and not best[col.name][0]):
                    best[col.name] = (declared, i)
        chosen = {i: col for col in entity.columns if col.name in best for i in [best[col.name][1]]}
        mapping = dict(sorted(chosen.items()))
        unknown = [h for i, h in enumerate(headers) if i not in mapping]
        found = {c.name for c in mapping.values()}
        missing = [c.name for c in entity.columns if c.required and c.name not in found]
        return mapping, unknown, missing

    def with_declarations(self, declarations: dict[str, Declaration]) -> SourceContract:
        return replace(self, declarations=declarations)

    def columns_by_entity(self) -> dict[str, tuple[str, ...]]:
        return {name: tuple(c.name for c in e.columns) for name, e in self.entities.items()}


def _parse_field(source: str, text: str, entities: dict[str, Entity]) -> tuple[str, str]:
    entity, _, column = text.partition(".")
    if entity not in entities or column not in {c.name for c in entities[entity].columns}:
        raise ValueError(f"{source}.yaml: {text!r} is not an <entity>.<column> of the contract")
    return entity, column


@cache
def _base_contract(name: str) -> SourceContract:
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
    reader = data.get("reader", "python")
    if reader not in READERS:
        raise ValueError(f"{name}.yaml: unknown reader {reader!r}")
    same_value = tuple(frozenset(_parse_field(name, f, entities) for f in group)
                       for group in data.get("same_value", ()))
    code_lists = data.get("code_lists", {}) or {}
    for f in code_lists:
        _parse_field(name, f, entities)
    wide = data.get("wide_file_pattern")
    return SourceContract(
        name=name,
        file_pattern=re.compile(data["file_pattern"]),
        entities=entities,
        default_entity=data.get("default_entity"),
        entity_names=data.get("entity_names", {}),
        wide_file_pattern=re.compile(wide) if wide else None,
        same_value=same_value,
        code_lists=code_lists,
        reader=reader,
    )


@cache
def _repository_contract(name: str) -> SourceContract:
    base = _base_contract(name)
    if name != "facilitateurs":
        return base
    return base.with_declarations(load_declarations(DECLARATIONS_DIR, base.columns_by_entity(), base.code_lists))


def source_contract(name: str, declarations_dir: str | Path | None = None) -> SourceContract:
    """The contract of a tabular source. The facilitators' one carries the declarations of
    ``declarations_dir`` (``OBS_SOURCES_DIR``), read afresh at each call, or the repository's
    (``schemas/sources/facilitateurs/``) when None; raises ``DeclarationError`` when they are wrong."""
    if name != "facilitateurs" or not declarations_dir:
        return _repository_contract(name)
    base = _base_contract(name)
    return base.with_declarations(load_declarations(declarations_dir, base.columns_by_entity(), base.code_lists))
