"""Every data file under ``schemas/`` checked against its declared schema: ``python -m schemas.validate``.

* CSV code lists (``referential/**/*.csv``): a frictionless Table Schema at ``referential/schemas/<same path>.json``
  (types, required, unique, patterns, enums, primary key);
* source contracts (``sources/*.yaml``), DECP code lists, GeoJSON and the other JSON files: a JSON Schema in
  ``meta/``; the official DECP schema and the meta schemas against their JSON Schema meta-schema; the Table
  Schemas against the Table Schema specification;
* then what no schema language says: a label of a code list names one code only (after folding), the
  aliases of the lists the pipeline maps are loadable, age bands are contiguous.

A failure names the file and the line (CSV rows, YAML nodes), so a malformed row fails the build where it is.
A data file with no schema is itself a failure: adding a file means declaring its schema.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import yaml

SCHEMAS_DIR = Path(__file__).resolve().parent
TABLE_SCHEMAS = SCHEMAS_DIR / "referential" / "schemas"
META = SCHEMAS_DIR / "meta"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"
CODE_FILES = {".py", ".pyc"}


def _relative(path: Path) -> str:
    return path.relative_to(SCHEMAS_DIR).as_posix() if path.is_relative_to(SCHEMAS_DIR) else str(path)


def validate_csv(path: Path, schema_path: Path) -> list[str]:
    """Frictionless validation of one CSV against its Table Schema: ``file:line: error`` per problem."""
    from frictionless import Resource, Schema

    schema = Schema.from_descriptor(json.loads(schema_path.read_text(encoding="utf-8")))
    resource = Resource(path=path.name, basepath=str(path.parent), schema=schema, format="csv", encoding="utf-8")
    report = resource.validate()
    out = []
    for task in report.tasks:
        for error in task.errors:
            line = getattr(error, "row_number", None)
            where = f"{_relative(path)}:{line}" if line else _relative(path)
            out.append(f"{where}: {error.type}: {error.message}")
    return out


def _yaml_line(text: str, path: list) -> int | None:
    """Line (1-based) of the YAML node at ``path`` (keys and indexes), for readable messages."""
    node = yaml.compose(text)
    line = node.start_mark.line + 1 if node is not None else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(step)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _json_schema_errors(data: object, schema: dict, where: str, line_of: Callable[[list], int | None]) -> list[str]:
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    out = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        line = line_of(path)
        at = "/".join(map(str, path)) or "(root)"
        out.append(f"{where}{f':{line}' if line else ''}: {at}: {error.message}")
    return out


def validate_yaml(path: Path, schema_path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [f"{_relative(path)}{f':{mark.line + 1}' if mark else ''}: unreadable YAML: {exc}"]
    data = json.loads(json.dumps(data, default=str))  # YAML dates (version: 2026-11-28) as JSON text
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return _json_schema_errors(data, schema, _relative(path), lambda p: _yaml_line(text, p))


def validate_json(path: Path, schema_path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return [f"{_relative(path)}:{exc.lineno}: unreadable JSON: {exc.msg}"]
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return _json_schema_errors(data, schema, _relative(path), lambda p: None)


def validate_json_schema(path: Path) -> list[str]:
    """A JSON Schema file against its own meta-schema."""
    from jsonschema import exceptions, validators

    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        return [f"{_relative(path)}: {'/'.join(map(str, exc.absolute_path)) or '(root)'}: {exc.message}"]
    return []


def validate_table_schema(path: Path) -> list[str]:
    """A Table Schema descriptor against the Table Schema specification."""
    from frictionless import Schema

    report = Schema.validate_descriptor(json.loads(path.read_text(encoding="utf-8")))
    return [f"{_relative(path)}: {e.type}: {e.message}" for e in report.errors]


def checks() -> Iterator[tuple[Path, Callable[[], list[str]]]]:
    """(file, its check) for every data file under ``schemas/``; a file without a schema gets a failing check."""
    for path in sorted(p for p in SCHEMAS_DIR.rglob("*") if p.is_file()):
        rel = _relative(path)
        if path.suffix in CODE_FILES or "__pycache__" in path.parts:
            continue
        if rel.startswith("referential/schemas/"):
            yield path, lambda p=path: validate_table_schema(p)
        elif rel.startswith("meta/") or rel == "schema_decp_v2.0.3.json":
            yield path, lambda p=path: validate_json_schema(p)
        elif path.suffix == ".csv" and rel.startswith("referential/"):
            schema = TABLE_SCHEMAS / Path(rel).relative_to("referential").with_suffix(".json")
            yield path, (lambda p=path, s=schema: validate_csv(p, s) if s.exists()
                         else [f"{_relative(p)}: no Table Schema at {_relative(s)}"])
        elif rel == "disclosure.yaml":
            yield path, lambda p=path: validate_yaml(p, META / "disclosure_policy.schema.json")
        elif rel.startswith("sources/facilitateurs/") and path.suffix in (".yaml", ".yml"):
            yield path, lambda p=path: validate_yaml(p, META / "facilitator_declaration.schema.json")
        elif rel.startswith("sources/") and path.suffix in (".yaml", ".yml"):
            yield path, lambda p=path: validate_yaml(p, META / "source_contract.schema.json")
        elif rel == "referential/decp_code_lists.json":
            yield path, lambda p=path: validate_json(p, META / "decp_code_lists.schema.json")
        elif path.suffix == ".geojson":
            yield path, lambda p=path: validate_json(p, META / "geojson.schema.json")
        elif rel == "referential/geo/ept_mgp_cog2026.json":
            yield path, lambda p=path: validate_json(p, META / "ept.schema.json")
        elif rel == "referential/geo/idf_departements_cog2026.json":
            yield path, lambda p=path: validate_json(p, META / "departements.schema.json")
        else:
            yield path, lambda p=path: [f"{_relative(p)}: no schema declared for this file (schemas/validate.py)"]


def consistency() -> list[str]:
    """Rules across files or beyond the schema languages: every mapped list loads (a folded label naming two
    codes is refused by the loader), the DECP lists load, age bands are contiguous, CPV market types exist."""
    from schemas import referential as ref

    out = []
    for name in (*ref.MAPPED_LISTS, "booleans"):
        try:
            ref.mapping.__wrapped__(name)
        except ValueError as exc:
            out.append(str(exc))
    data = json.loads((ref.REFERENTIAL_DIR / "decp_code_lists.json").read_text(encoding="utf-8"))
    for name in data:
        if name != "_about":
            try:
                ref.code_list.__wrapped__(name)
            except ValueError as exc:
                out.append(str(exc))
    bands = sorted((int(r["min_age"]), int(r["max_age"]), r["code"]) for r in ref.code_rows.__wrapped__("age_bands"))
    for (_, hi, a), (lo, _, b) in pairwise(bands):
        if lo != hi + 1:
            out.append(f"age_bands.csv: {a} ends at {hi} but {b} starts at {lo}")
    market_types = {r["code"] for r in ref.code_rows.__wrapped__("market_types")}
    out += [f"cpv_divisions.csv: market type {t!r} not in market_types.csv"
            for t in sorted(set(ref.cpv_market_type.__wrapped__().values()) - market_types)]
    return out


def validate_all() -> list[str]:
    """Every problem of every file under ``schemas/`` (empty: all good)."""
    problems = []
    for _, check in checks():
        problems += check()
    if not problems:  # the loaders would fail on a malformed file with a less precise message
        problems += consistency()
    return problems


def main() -> None:
    problems = validate_all()
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s) in {sum(1 for _ in checks())} files under {SCHEMAS_DIR}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
