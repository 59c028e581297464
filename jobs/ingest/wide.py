"""One-file ("wide") exports: a file carrying several entities in one table, recognised from its headers and
split into the rows of each entity, upstream of the per-row mapping shared with the six-file layout.

Most facilitators' software exports one line per work contract and month, repeating the operation, the
employer and the person on every line. Here:

* **recognition**: each entity takes the headers naming its columns (declared headers first, then a header
  naming only this column, then any synonym); an entity is carried when none of its required columns is
  missing and at least one of its own columns (not a shared identifier) is present. A header that two carried
  entities would read with different meanings ("Date de début": the operation's or the contract's?) refuses
  the file, asking for a declaration: nothing is guessed.
* **splitting**: each line gives a row to every carried entity it holds a value for; a row repeated on
  several lines of the file (the operation on each of its contract months) is kept once, at its first line.
  A line holding a value for none of them still gives a row, to the finest entity, flagged in ``row_issue``:
  silver refuses it with its raw values, nothing is lost.
* **privacy**: when the file carries a person-level entity, direct identifiers and unknown columns are
  dropped for every entity (they could describe the person).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from jobs.ingest.tabular import (
    Dialect,
    EntityPlan,
    Source,
    TabularFile,
    TabularFileError,
    describe_values,
    entity_plan,
    map_row,
    namespace_of,
    sample,
)
from schemas.referential import fold
from schemas.sources import FileMatch, SourceContract

FINEST_FIRST = ("heures", "contrats", "sorties", "participants", "entreprises", "operations")
NO_VALUE = "line holds no value of the columns of the entities this file carries"


@dataclass
class Recognition:
    """What the headers of a file say: the plan of each entity it carries."""

    plans: list[EntityPlan]
    unknown: list[str]
    dropped: list[str]
    partial: dict[str, list[str]] = field(default_factory=dict)  # entity -> required columns it lacks
    declared: dict[int, str] = field(default_factory=dict)  # header position -> "<entity>.<column>" declared


def _own(contract: SourceContract, plan: EntityPlan) -> list[str]:
    """Output columns of a plan that are the entity's own data, not an identifier shared with others."""
    out = []
    for col in plan.mapping.values():
        if col.kind == "direct_identifier" or len(contract.group_of(plan.entity.name, col.name)) > 1:
            continue
        out.append(col.name)
    return out


def recognise_wide(contract: SourceContract, headers: list[str], facilitateur: str | None) -> Recognition:
    """The entities a one-file export carries and how each reads its headers; refuses the file (with the
    reason) when it carries none, or when a header is ambiguous between two carried entities."""
    folded = [fold(h.replace("_", " ")) for h in headers]
    lookups = {name: contract.header_candidates(e, facilitateur) for name, e in contract.entities.items()}
    cands: dict[int, list[tuple[str, str, bool]]] = {}
    for i, f in enumerate(folded):
        hits = [(name, col.name, declared) for name, lookup in lookups.items() if (hit := lookup.get(f))
                for col, declared in [hit]]
        if any(d for *_, d in hits):  # a declared header is read by the columns it is declared for only
            hits = [h for h in hits if h[2]]
        cands[i] = hits
    mappings, missing = {}, {}
    for name, entity in contract.entities.items():
        best: dict[str, tuple[int, int]] = {}
        for i, hits in cands.items():
            for e, c, declared in hits:
                if e != name:
                    continue
                group = contract.group_of(e, c)
                rank = 0 if declared else 1 if all((e2, c2) in group for e2, c2, _ in hits) else 2
                if c not in best or (rank, i) < best[c]:
                    best[c] = (rank, i)
        mapping = {i: col for col in entity.columns if col.name in best for i in [best[col.name][1]]}
        mappings[name] = dict(sorted(mapping.items()))
        found = {c.name for c in mapping.values()}
        missing[name] = [c.name for c in entity.columns if c.required and c.name not in found]
    carried = []
    partial = {}
    for name, entity in contract.entities.items():
        own = _own(contract, EntityPlan(entity, mappings[name]))
        if own and not missing[name]:
            carried.append(name)
        elif own:
            partial[name] = missing[name]
    if not carried:
        tried = "; ".join(f"{n} lacks {', '.join(m)}" for n, m in missing.items() if m)
        raise TabularFileError(f"no {contract.name} entity recognised in the headers of this file ({tried}); "
                               f"headers found: {', '.join(repr(h) for h in headers)}")
    meanings: dict[int, set] = {}
    for name in carried:
        for i, col in mappings[name].items():
            meanings.setdefault(i, set()).add(contract.group_of(name, col.name))
    ambiguous = {i: m for i, m in meanings.items() if len(m) > 1}
    if ambiguous:
        i, groups = min(ambiguous.items())
        options = " or ".join(sorted(min(f"{e}.{c}" for e, c in g) for g in groups))
        raise TabularFileError(
            f"header {headers[i]!r} could be {options} in this one-file export: declare which in the "
            f"facilitator's declaration (columns: <entity>.<column>: {headers[i]!r})")
    used = set(meanings)
    person = any(contract.entities[n].person_level for n in carried)
    unknown = [h for i, h in enumerate(headers) if i not in used]
    unknown_at = tuple(i for i in range(len(headers)) if i not in used)
    dropped = [headers[i] for i in sorted(used) for n in carried
               if (c := mappings[n].get(i)) is not None and c.kind == "direct_identifier"]
    dropped = list(dict.fromkeys(dropped))
    if person:
        dropped += unknown  # a column of a file about persons could hold an identifier
    keeper = None if person else next((n for n in carried if contract.entities[n].keep_unknown), None)
    plans = [EntityPlan(contract.entities[n], mappings[n], unknown_at if n == keeper else ()) for n in carried]
    declared = {i: f"{e}.{c}" for i, hits in cands.items() for e, c, d in hits if d}
    return Recognition(plans, unknown, dropped, partial, declared)


def _digest(record: dict) -> bytes:
    return hashlib.blake2b(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode(),
                           digest_size=16).digest()


@dataclass
class FileReading:
    """One landed file opened for loading: its dialect, layout and entity plans; ``records()`` streams its
    rows as ``(entity, record_index, row)`` and fills ``stats`` as it goes."""

    dialect: Dialect
    layout: str  # "entity" or "wide"
    headers: list[str]
    recognition: Recognition
    namespace: str
    key: bytes
    contract: SourceContract
    _rows: Iterator[list[str | None]]
    stats: dict = field(default_factory=dict)

    @property
    def entities(self) -> list[str]:
        return [p.entity.name for p in self.recognition.plans]

    def records(self) -> Iterator[tuple[str, int, dict]]:
        plans, headers = self.recognition.plans, self.headers
        lines, kept, merged, no_value = 0, Counter(), Counter(), 0
        if self.layout == "entity":
            [plan] = plans
            for index, values in enumerate(self._rows):
                lines += 1
                yield plan.entity.name, index, map_row(values, headers, plan, self.namespace, self.key)
            kept[plan.entity.name] = lines
        else:
            own = {p.entity.name: _own(self.contract, p) for p in plans}
            seen: dict[str, set[bytes]] = {p.entity.name: set() for p in plans}
            finest = next(p for name in FINEST_FIRST for p in plans if p.entity.name == name)
            for index, values in enumerate(self._rows):
                lines += 1
                held = False
                for plan in plans:
                    name = plan.entity.name
                    record = map_row(values, headers, plan, self.namespace, self.key)
                    if all(record[c] is None for c in own[name]) and not record["extra_fields"]:
                        continue
                    held = True
                    digest = _digest(record)
                    if digest in seen[name]:
                        merged[name] += 1
                        continue
                    seen[name].add(digest)
                    kept[name] += 1
                    yield name, index, record
                if not held:
                    no_value += 1
                    record = map_row(values, headers, finest, self.namespace, self.key)
                    record["row_issue"] = "; ".join(filter(None, [record["row_issue"], NO_VALUE]))
                    kept[finest.entity.name] += 1
                    yield finest.entity.name, index, record
        self.stats = {"layout": self.layout, "lines": lines, "rows": dict(kept), "merged": dict(merged),
                      "lines_without_value": no_value}


def read_file(source: Source, contract: SourceContract, match: FileMatch, key: bytes) -> FileReading:
    """Open a landed file for loading: first pass (encoding, separator), header, layout (the entity its name
    gives, or the entities its headers carry), and the number and date formats of its first lines. Raises
    ``TabularFileError`` when the file is refused whole."""
    f = TabularFile(source)
    rows = f.rows()
    header = next(rows, None)
    if header is None:
        raise TabularFileError("empty file: no header line")
    headers = [h or "" for h in header]
    if match.entity is not None:
        plan, unknown, dropped = entity_plan(contract, match.entity, headers, match.facilitateur)
        recognition = Recognition([plan], unknown, dropped)
    else:
        recognition = recognise_wide(contract, headers, match.facilitateur)
    head, rows = sample(rows)
    positions = sorted({i for p in recognition.plans for i, c in p.mapping.items() if c.kind != "direct_identifier"})
    f.dialect.decimal, f.dialect.date_formats = describe_values(head, positions)
    return FileReading(f.dialect, match.layout, headers, recognition, namespace_of(contract, match.facilitateur),
                       key, contract, rows)
