"""Seeded mutators of DECP documents and tabular exports: the same seed gives the same hostile inputs.

Our own small mutator (no property-testing framework): each case is ``(label, bytes)``, the label says
which mutation made it, so a failing case can be rebuilt from its seed and index.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Iterator
from typing import Any

HOSTILE_STRINGS = ["\x00", "\x01\x02\x1f", "\u202e", "\ufeff", "\ud800", "\udfff", "é" * 3, "\u0000NUL",
                   "=cmd|' /C calc'!A0", "@SUM(1+1)", "+33 6 12 34 56 78", "'; DROP TABLE marches; --",
                   "../../etc/passwd", "<script>alert(1)</script>", "\r\n", "%s%n%x", "\\", '"', "NaN", ""]
HOSTILE_NUMBERS = ["1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "-0", "0.0000001",
                   "9" * 4000, "1" + "0" * 5000, "123456789012345678901234567890", "3e9", "-2147483649",
                   "1.7976931348623157e309"]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**31, 2**63, -(2**64), 10**300])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e-320, float("inf"), float("-inf"), float("nan")])
    if kind in (4, 5):
        return rng.choice(HOSTILE_STRINGS) * rng.randint(1, 3)
    if kind == 6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["id", "montant", "titulaire", "x", "", "a.b"]): _random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _set(node: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    node[path[0]] = _set(node[path[0]], path[1:], value)
    return node


def _wrong_types(doc: Any, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 6)):
        path = rng.choice(_paths(doc))
        doc = _set(doc, path, _random_value(rng))
    # allow_nan: NaN/Infinity literals are what some exporters write
    return json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def _huge_number(text: str, rng: random.Random) -> bytes:
    """Replace a numeric literal (or a string value) by a hostile number literal."""
    import re

    spots = [m.span() for m in re.finditer(r'(?<=: )(-?\d+(\.\d+)?|"[^"]*")', text)]
    if not spots:
        return text.encode()
    start, end = rng.choice(spots)
    return (text[:start] + rng.choice(HOSTILE_NUMBERS) + text[end:]).encode()


def _control_chars(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        out.insert(rng.randrange(len(out) + 1), rng.randrange(0, 32))
    return bytes(out)


def _invalid_utf8(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        out.insert(rng.randrange(len(out) + 1), rng.choice([0xFF, 0xC3, 0x80, 0xED, 0xF8]))
    return bytes(out)


def _bom(data: bytes, rng: random.Random) -> bytes:
    boms = [b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"]
    bom = rng.choice(boms)
    if rng.random() < 0.3:
        return bom + data.decode("utf-8", "replace").encode("utf-16-le" if bom == b"\xff\xfe" else "utf-16-be")
    return bom + data


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def _splice(data: bytes, rng: random.Random) -> bytes:
    """Bytes of the document moved, duplicated or flipped: the classic blind mutation."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(3)
        i = rng.randrange(len(out) or 1)
        if op == 0 and out:
            out[i] = rng.randrange(256)
        elif op == 1:
            j = rng.randrange(len(out) or 1)
            out[i:i] = out[j:j + rng.randint(1, 64)]
        else:
            del out[i:i + rng.randint(1, 16)]
    return bytes(out)


def decp_json_cases(seeds: list[bytes], n: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """``n`` mutated JSON documents from the seed documents."""
    rng = random.Random(seed)
    for i in range(n):
        base = rng.choice(seeds)
        op = rng.choice(["wrong_types", "huge_number", "control_chars", "invalid_utf8", "bom", "truncate",
                         "splice"])
        if op == "wrong_types":
            data = _wrong_types(json.loads(base), rng)
        elif op == "huge_number":
            data = _huge_number(base.decode("utf-8-sig"), rng)
        else:
            data = {"control_chars": _control_chars, "invalid_utf8": _invalid_utf8, "bom": _bom,
                    "truncate": _truncate, "splice": _splice}[op](base, rng)
        yield f"json#{i}:{op}", data


def decp_xml_cases(seeds: list[bytes], n: int, seed: int) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(seed)
    for i in range(n):
        base = rng.choice(seeds)
        op = rng.choice(["control_chars", "invalid_utf8", "bom", "truncate", "splice", "entity", "deep_small"])
        if op == "entity":
            data = rng.choice(XML_ENTITY_ATTACKS)
        elif op == "deep_small":
            depth = rng.randint(10, 3000)
            data = b"<marches><marche>" + b"<titulaires>" * depth + b"x" + b"</titulaires>" * depth + \
                b"</marche></marches>"
        else:
            data = {"control_chars": _control_chars, "invalid_utf8": _invalid_utf8, "bom": _bom,
                    "truncate": _truncate, "splice": _splice}[op](base, rng)
        yield f"xml#{i}:{op}", data


XML_ENTITY_ATTACKS = [
    b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<marches><marche><id>1</id><objet>&lol9;</objet></marche></marches>""",
    b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<marches><marche><id>1</id><objet>&xxe;</objet></marche></marches>""",
    b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY % xxe SYSTEM "file:///etc/passwd"> %xxe;]>
<marches><marche><id>1</id></marche></marches>""",
    b"""<?xml version="1.0"?>
<!DOCTYPE marches SYSTEM "http://127.0.0.1:1/evil.dtd">
<marches><marche><id>1</id></marche></marches>""",
    b"""<?xml version="1.0"?><marches xmlns:xi="http://www.w3.org/2001/XInclude">
<marche><id>1</id><objet><xi:include parse="text" href="file:///etc/passwd"/></objet></marche></marches>""",
    b"""<?xml version="1.0" encoding="UTF-7"?><marches><marche><id>1</id></marche></marches>""",
    b"""<?xml version="1.0" encoding="x-unknown"?><marches><marche><id>1</id></marche></marches>""",
    b"""<marches><marche><id>&undefined;</id></marche></marches>""",
]


def deep_json(depth: int) -> bytes:
    return b'{"marches": ' + b"[" * depth + b"]" * depth + b"}"


def deep_json_objects(depth: int) -> bytes:
    return b'{"marches": [' + b'{"a": ' * depth + b"1" + b"}" * depth + b"]}"


def deep_xml(depth: int) -> bytes:
    return b"<marches><marche>" + b"<a>" * depth + b"x" + b"</a>" * depth + b"</marche></marches>"


def giant_string_json(megabytes: int) -> bytes:
    return b'{"marches": [{"id": "1", "objet": "' + b"A" * (megabytes << 20) + b'"}]}'


def giant_string_xml(megabytes: int) -> bytes:
    return b"<marches><marche><id>1</id><objet>" + b"A" * (megabytes << 20) + b"</objet></marche></marches>"


# ---- tabular -------------------------------------------------------------------------------------------

def xlsx_bomb(decompressed_mb: int) -> bytes:
    """An .xlsx whose sheet inflates to ``decompressed_mb`` MB of zeros-like XML (a zip bomb)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        # streamed so that the bomb itself is never held whole in this process
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
            chunk = b" " * (1 << 20)
            for _ in range(decompressed_mb):
                sheet.write(chunk)
            sheet.write(b"</t></is></c></row></sheetData></worksheet>")
    return buf.getvalue()


CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
 Target="xl/workbook.xml"/></Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Feuil1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
 Target="worksheets/sheet1.xml"/></Relationships>"""


def _xlsx(rows: list[list], sheet_xml_hook=None) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    data = buf.getvalue()
    if sheet_xml_hook is None:
        return data
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = sheet_xml_hook(content)
            z.writestr(info.filename, content)
    return out.getvalue()


def xlsx_with_doctype(rows: list[list]) -> bytes:
    """A workbook whose sheet XML declares an external entity (XXE inside an .xlsx)."""
    def hook(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[-1]
        return (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                + body.replace(b"<v>", b"<v>&xxe;", 1))
    return _xlsx(rows, hook)


def _inner_xml(data: bytes, rng: random.Random) -> bytes:
    """A valid archive whose sheet or shared strings XML is mutated (what openpyxl parses lazily)."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    targets = [n for n in src.namelist() if n.startswith(("xl/worksheets/", "xl/sharedStrings", "xl/workbook"))]
    target = rng.choice(targets)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == target:
                content = _splice(content, rng) if rng.random() < 0.7 else _control_chars(content, rng)
            z.writestr(info.filename, content)
    return out.getvalue()


def tabular_cases(seeds: list[tuple[str, bytes]], n: int, seed: int) -> Iterator[tuple[str, str, bytes]]:
    """``(label, seed name, bytes)``: mutated CSV exports (headers, encodings, separators, ragged rows,
    NUL bytes, formula cells, huge fields, garbage) and XLSX (truncated, flipped, garbage)."""
    rng = random.Random(seed)
    for i in range(n):
        name, base = rng.choice(seeds)
        if name.endswith(".xlsx"):
            op = rng.choice(["truncate", "splice", "garbage_pk", "inner_xml", "inner_xml"])
            data = {"truncate": _truncate, "splice": _splice, "inner_xml": _inner_xml,
                    "garbage_pk": lambda d, r: b"PK\x03\x04" + r.randbytes(r.randint(0, 4000))}[op](base, rng)
            yield f"xlsx#{i}:{op}", name, data
            continue
        text = base.decode("utf-8-sig", "replace")
        lines = text.splitlines()
        op = rng.choice(["header", "encoding", "separator", "ragged", "nul", "formula", "huge_field", "empty",
                         "garbage", "truncate", "splice", "quotes"])
        if op == "header":
            cols = lines[0].split(";") if ";" in lines[0] else lines[0].split(",")
            j = rng.randrange(len(cols))
            cols[j] = rng.choice(["", cols[j].upper(), cols[j] + " ", "\x00", "é" * 50, cols[(j + 1) % len(cols)],
                                  "=HYPERLINK(\"http://x\")"])
            if rng.random() < 0.3:
                del cols[rng.randrange(len(cols))]
            sep = ";" if ";" in lines[0] else ","
            data = "\n".join([sep.join(cols), *lines[1:]]).encode()
        elif op == "encoding":
            enc = rng.choice(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-8-sig", "mac_roman"])
            data = text.encode(enc, "replace")
        elif op == "separator":
            data = text.replace(";", rng.choice([",", "\t", "|", " ", ";;", ""])).encode()
        elif op == "ragged":
            out = []
            for line in lines:
                r = rng.random()
                out.append(line + ";x" * rng.randint(1, 5) if r < 0.3 else line.rsplit(";", 1)[0] if r < 0.6
                           else line)
            data = "\n".join(out).encode()
        elif op == "nul":
            data = _control_chars(base, rng).replace(bytes([rng.randrange(32)]), b"\x00")
        elif op == "formula":
            cells = ["=1+1", "=cmd|' /C calc'!A0", "+SUM(A1)", "-2+3", "@now", "=HYPERLINK(\"http://evil\")"]
            data = "\n".join([lines[0]] + [rng.choice(cells) + ";" + line for line in lines[1:]]).encode()
        elif op == "huge_field":
            data = (lines[0] + "\n" + "A" * rng.choice([10_000, 2_000_000]) + ";" + "\n".join(lines[1:])).encode()
        elif op == "empty":
            data = rng.choice([b"", b"\n\n\n", b"\xef\xbb\xbf", b";;;\n;;;", b" "])
        elif op == "garbage":
            data = rng.randbytes(rng.randint(1, 5000))
        elif op == "quotes":
            data = text.replace(";", ';"', rng.randint(1, 5)).encode()
        else:
            data = {"truncate": _truncate, "splice": _splice}[op](base, rng)
        yield f"csv#{i}:{op}", name, data
