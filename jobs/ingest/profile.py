"""Profile a facilitator's export before (or after) loading it: ``python -m jobs.pipeline profile <file>``.

Reads the file as bronze would (same reader, same recognition of its layout and headers, same declarations)
and tells the data steward what would happen: how the file is written, which headers feed which column (and
why: declared, synonym), which headers are not recognised, which entities lack a required column, and each
label of a coded column that no referential entry (nor the facilitator's declaration) maps, with its count.
It can write a draft declaration listing all of this for the steward to complete. No Spark, no lake.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from jobs.ingest.tabular import EntityPlan, TabularFile, TabularFileError
from jobs.ingest.wide import FileReading, Recognition, read_file
from schemas import referential as ref
from schemas.sources import FileMatch, SourceContract

MULTI_VALUED = {"criteres_eligibilite": re.compile(r"\s*[|;,/]\s*")}  # as silver splits them


@dataclass
class Profile:
    file: str
    facilitateur: str | None
    declared: bool  # the facilitator has a declaration
    layout: str | None = None  # entity | wide
    dialect: dict = field(default_factory=dict)
    entities: list[str] = field(default_factory=list)
    lines: int = 0
    recognised: list[dict] = field(default_factory=list)  # header, columns, how
    not_recognised: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)  # entity -> required columns not found
    unmapped: list[dict] = field(default_factory=list)  # column, code_list, value, rows
    refused: str | None = None  # why bronze would refuse the file

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        """The report printed for the steward."""
        out = [f"file: {self.file}", f"facilitator: {self.facilitateur or '(none in the name)'} "
               f"({'declared' if self.declared else 'no declaration'})"]
        if self.dialect:
            d = self.dialect
            out.append(f"written: {d['encoding']}, separator {d['delimiter']!r}, line endings {d['line_ending']}, "
                       f"decimal {d['decimal']!r}, dates {d['date_formats']}")
        if self.layout:
            kind = "one-file export" if self.layout == "wide" else "one entity per file"
            out.append(f"layout: {kind}, carrying {', '.join(self.entities) or 'nothing'} ({self.lines:,} lines)")
        if self.refused:
            out.append(f"REFUSED by bronze: {self.refused}")
        out.append("columns recognised:")
        out += [f"  {r['header']!r} -> {', '.join(r['columns'])} ({r['how']})" for r in self.recognised] or ["  none"]
        out.append("columns not recognised" + (" (dropped: the file is about persons)" if set(
            self.not_recognised) <= set(self.dropped) and self.not_recognised else "") + ":")
        out += [f"  {h!r}" for h in self.not_recognised] or ["  none"]
        if self.missing:
            out.append("entities partly present (required columns not found):")
            out += [f"  {e}: {', '.join(cols)}" for e, cols in self.missing.items()]
        out.append("values to map (no referential code):")
        out += [f"  {u['column']} ({u['code_list']}): {u['value']!r} x {u['rows']:,}" for u in self.unmapped] \
            or ["  none"]
        return "\n".join(out)


def _how(contract: SourceContract, entity: str, column: str, header: str, facilitateur: str | None) -> str:
    folded = ref.fold(header.replace("_", " "))
    if folded in {ref.fold(h.replace("_", " ")) for h in contract.declared_headers(entity, column, facilitateur)}:
        return "declared"
    return "name" if folded == ref.fold(column.replace("_", " ")) else "synonym"


def _code(contract: SourceContract, facilitateur: str | None, entity: str, column: str, value: str) -> str | None:
    decl = contract.declarations.get(facilitateur or "")
    declared = decl.values.get((entity, column), {}) if decl else {}
    return declared.get(ref.fold(value)) or ref.mapping(contract.code_lists[f"{entity}.{column}"]).canonical(value)


def _recognised(contract: SourceContract, headers: list[str], recognition: Recognition,
                facilitateur: str | None) -> list[dict]:
    out: dict[int, dict] = {}
    for plan in recognition.plans:
        for i, col in plan.mapping.items():
            r = out.setdefault(i, {"header": headers[i], "columns": [], "how": ""})
            r["columns"].append(f"{plan.entity.name}.{col.name}")
            r["how"] = r["how"] or _how(contract, plan.entity.name, col.name, headers[i], facilitateur)
            if col.kind == "direct_identifier":
                r["how"] += "; a direct identifier, never copied out of the raw zone"
    return [out[i] for i in sorted(out)]


def profile_file(path: str | Path, contract: SourceContract, facilitateur: str | None = None) -> Profile:
    """What bronze and silver would make of a file, without loading it."""
    path = Path(path)
    match = contract.match(path.name)
    if facilitateur:
        match = FileMatch(match.entity if match else None, facilitateur)
    elif match is None:
        match = FileMatch(None, None)  # a name that says nothing: let the headers speak
    fac = match.facilitateur
    profile = Profile(path.name, fac, fac in contract.declarations, match.layout)

    def opener():
        return path.open("rb")

    try:
        reading: FileReading = read_file(opener, contract, match, b"profile")
    except TabularFileError as exc:
        profile.refused = str(exc)
        _explain_refusal(profile, contract, opener, match)
        return profile
    profile.dialect = asdict(reading.dialect)
    profile.entities = reading.entities
    rec = reading.recognition
    profile.recognised = _recognised(contract, reading.headers, rec, fac)
    profile.not_recognised, profile.dropped, profile.missing = rec.unknown, rec.dropped, rec.partial
    counts: Counter = Counter()
    coded = {tuple(f.split(".")) for f in contract.code_lists}
    try:
        for entity, _, record in reading.records():
            for e, c in coded:
                if e != entity or not record.get(c):
                    continue
                split = MULTI_VALUED.get(c)
                for value in ([v for v in split.split(record[c]) if v] if split else [record[c]]):
                    if _code(contract, fac, e, c, value) is None:
                        counts[(f"{e}.{c}", value)] += 1
    except TabularFileError as exc:
        profile.refused = str(exc)
    profile.lines = reading.stats.get("lines", 0)
    profile.unmapped = [{"column": col, "code_list": contract.code_lists[col], "value": v, "rows": n}
                        for (col, v), n in sorted(counts.items(), key=lambda x: (x[0][0], -x[1], x[0][1]))]
    return profile


def _explain_refusal(profile: Profile, contract: SourceContract, opener, match: FileMatch) -> None:
    """For a refused file: what each entity would read in its headers, and what it lacks."""
    try:
        f = TabularFile(opener)
        header = next(f.rows(), None)
    except TabularFileError:
        return
    if not header:
        return
    profile.dialect = asdict(f.dialect)
    headers = [h or "" for h in header]
    entities = [match.entity] if match.entity is not None else list(contract.entities.values())
    used: set[int] = set()
    plans = []
    for entity in entities:
        mapping, _, missing = contract.header_map(entity, headers, match.facilitateur)
        if mapping:
            plans.append(EntityPlan(entity, mapping))
            used |= set(mapping)
            if missing:
                profile.missing[entity.name] = missing
    profile.recognised = _recognised(contract, headers, Recognition(plans, [], []), match.facilitateur)
    profile.not_recognised = [h for i, h in enumerate(headers) if i not in used]


def draft_declaration(profile: Profile, contract: SourceContract) -> str:
    """A declaration to review: the recognised headers (as comments when the contract's synonyms already
    find them), the unrecognised ones and the missing required columns to declare, the labels to map."""
    fac = profile.facilitateur or "CHANGE-ME"
    decl = contract.declarations.get(profile.facilitateur or "")
    lines = [f"# Draft declaration of {fac}, written on {date.today():%Y-%m-%d} by `python -m jobs.pipeline "
             f"profile {profile.file}`.",
             "# Review it, complete the commented lines, then save it as <declarations folder>/"
             f"{fac}.yaml (OBS_SOURCES_DIR).", f"facilitateur: {fac}", "columns:"]
    for r in profile.recognised:
        for target in r["columns"]:
            prefix = "" if r["how"] == "declared" else "# "
            note = "" if r["how"] == "declared" else f"  # found through the contract's {r['how']}"
            lines.append(f"  {prefix}{target}: {_quote(r['header'])}{note}")
    asked: set = set()
    for entity, cols in profile.missing.items():
        for c in cols:
            group = contract.group_of(entity, c)
            if not group & asked:  # a shared identifier is declared once, for all the entities holding it
                lines.append(f"  # {entity}.{c}: \"<its header in the file>\"  # required, not found")
            asked |= group
    for h in profile.not_recognised:
        lines.append(f"  # <entity>.<column>: {_quote(h)}  # not recognised: declare it, or leave it out")
    lines.append("values:")
    by_column: dict[str, list[dict]] = {}
    for u in profile.unmapped:
        by_column.setdefault(u["column"], []).append(u)
    if decl:
        for e, c in sorted(decl.values):
            by_column.setdefault(f"{e}.{c}", [])
    for column, items in by_column.items():
        codes = ref.mapping(contract.code_lists[column]).values
        lines.append(f"  {column}:  # {contract.code_lists[column]}: {', '.join(codes)}")
        e, c = column.split(".")
        for label, code in sorted((decl.values.get((e, c), {}) if decl else {}).items()):
            lines.append(f"    {_quote(label)}: {code}  # already declared (label as folded)")
        lines += [f"    # {_quote(u['value'])}: <code>  # {u['rows']} rows" for u in items]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run(ctx, path: str, facilitateur: str | None = None, write_declaration: str | None = None) -> dict:
    """Reads one facilitator's export (a path, or a name in ``<inbox>/facilitateurs/``) as bronze would, with
    the configured declarations; writes nothing to the lake, only the draft declaration when asked. Returns
    the profile (the text for the steward under ``report``)."""
    from jobs.ingest.tabular import contract_for

    file = Path(path)
    if not file.is_absolute() and not file.exists():
        file = Path(ctx.settings.inbox_dir) / "facilitateurs" / file
    if not file.is_file():
        raise FileNotFoundError(f"no file {path!r} (nor {file})")
    contract = contract_for(ctx.settings, "facilitateurs")
    profile = profile_file(file, contract, facilitateur)
    out = {"stage": "profile", **profile.as_dict(), "report": profile.text()}
    if write_declaration:
        target = Path(write_declaration)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(draft_declaration(profile, contract), encoding="utf-8")
        out["draft_declaration"] = str(target)
    return out
