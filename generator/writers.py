"""Streaming writers: records go to disk as they are made, so memory stays bounded at any scale."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from xml.sax.saxutils import escape


class DecpJsonWriter:
    """``{"marches": [...]}`` (2019) or ``{"marches": {"marche": [...]}}`` (2022), one record at a time."""

    def __init__(self, path: Path, decp_format: str):
        self.f = path.open("w", encoding="utf-8")
        self.fmt = decp_format
        self.f.write('{"marches": [' if decp_format == "2019" else '{"marches": {"marche": [')
        self.n = 0

    def write(self, record: dict) -> None:
        self.f.write(("," if self.n else "") + "\n" + json.dumps(record, ensure_ascii=False))
        self.n += 1

    def close(self) -> None:
        self.f.write("\n]}" if self.fmt == "2019" else "\n]}}")
        self.f.close()


def _xml(key: str, value, out: list[str], indent: str) -> None:
    if value is None:
        out.append(f"{indent}<{key}/>")
    elif isinstance(value, dict):
        out.append(f"{indent}<{key}>")
        for k, v in value.items():
            if isinstance(v, list) and v and not isinstance(v[0], dict):
                for item in v:  # {"considerationSociale": ["a", "b"]} -> repeated elements
                    _xml(k, item, out, indent + " ")
            else:
                _xml(k, v, out, indent + " ")
        out.append(f"{indent}</{key}>")
    elif isinstance(value, list):
        out.append(f"{indent}<{key}>")
        for item in value:
            if isinstance(item, dict) and len(item) == 1 and isinstance(next(iter(item.values())), dict):
                [(child, inner)] = item.items()  # 2022 wrapper {"titulaire": {...}}
                _xml(child, inner, out, indent + " ")
            else:
                _xml(key[:-1], item, out, indent + " ")  # 2019 list: titulaires -> titulaire
        out.append(f"{indent}</{key}>")
    elif isinstance(value, bool):
        out.append(f"{indent}<{key}>{'oui' if value else 'non'}</{key}>")
    else:
        out.append(f"{indent}<{key}>{escape(str(value))}</{key}>")


class DecpXmlWriter:
    def __init__(self, path: Path, decp_format: str):
        self.f = path.open("w", encoding="utf-8")
        self.f.write('<?xml version="1.0" encoding="UTF-8"?>\n<marches>\n')

    def write(self, record: dict) -> None:
        out: list[str] = []
        _xml("marche", record, out, " ")
        self.f.write("\n".join(out) + "\n")

    def close(self) -> None:
        self.f.write("</marches>\n")
        self.f.close()


class CsvFiles:
    """Lazily opened CSV files keyed by path, each with its own dialect (encoding, separator)."""

    def __init__(self):
        self.files: dict[Path, tuple] = {}

    def write(self, path: Path, header: list[str], row: list, encoding: str, delimiter: str) -> None:
        if path not in self.files:
            path.parent.mkdir(parents=True, exist_ok=True)
            f = path.open("w", encoding=encoding, newline="", errors="replace")
            w = csv.writer(f, delimiter=delimiter, lineterminator="\r\n")
            w.writerow(header)
            self.files[path] = (f, w)
        self.files[path][1].writerow(["" if v is None else v for v in row])

    def close(self) -> None:
        for f, _ in self.files.values():
            f.close()
        self.files.clear()

    def paths(self) -> list[Path]:
        return sorted(self.files)
