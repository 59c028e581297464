"""Large DECP JSON documents (a national consolidation weighs GBs) read as a stream, record by record.

``decp_records.parse_document`` parses a document whole, and the fuzz tests hold it to exact refusals; above
``STREAM_ABOVE`` bytes, the same records (same shapes, order, indexes and serialisation) come out of this
reader instead, in bounded memory: the text is decoded in chunks and each record is parsed by the standard
library's JSON decoder as soon as it is complete (so ``NaN``, lone surrogates and number limits behave as in
the whole-document parser). A document broken deep inside raises ``DecpDocumentError`` after some records
were yielded: the bronze job then drops them (a file is loaded whole or refused whole).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from jobs.ingest.decp_records import (
    KIND_CONCESSION,
    KIND_MARCHE,
    KIND_UNKNOWN,
    DecpDocumentError,
    RawRecord,
    _dump,
    _kind_2019,
)

STREAM_ABOVE = 256 << 20  # bytes; smaller documents are parsed whole (decp_records.parse_document)
CHUNK = 8 << 20  # bytes read at a time
MAX_RECORD = 64 << 20  # characters: a record (or a skipped value) larger than this refuses the document
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Text:
    """A JSON text read forward: a decoded window of the file, refilled when a value runs past its end."""

    def __init__(self, open_file: Callable[[], BinaryIO]):
        self.f = open_file()
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self.buf, self.pos, self.eof, self.consumed = "", 0, False, 0

    def close(self) -> None:
        self.f.close()

    def fill(self) -> bool:
        if self.eof:
            return False
        data = self.f.read(CHUNK)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise DecpDocumentError(f"not UTF-8 text: {exc.reason}") from exc
        self.consumed += self.pos
        self.buf, self.pos, self.eof = self.buf[self.pos:] + text, 0, not data
        return True

    def peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self.fill():
                return self.buf[self.pos:self.pos + 1]

    def expect(self, char: str, what: str) -> None:
        if self.peek() != char:
            raise DecpDocumentError(f"invalid JSON at character {self.consumed + self.pos}: expected {what}")
        self.pos += 1

    def value(self) -> Any:
        """The next JSON value, parsed by the standard decoder once the window holds all of it."""
        self.peek()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > MAX_RECORD:
                    raise DecpDocumentError(f"invalid JSON at character {self.consumed + exc.pos}: {exc.msg} "
                                            f"(or a record larger than {MAX_RECORD >> 20} MiB)") from exc
                if not self.fill():
                    raise DecpDocumentError(f"invalid JSON at character {self.consumed + exc.pos}: {exc.msg}") \
                        from exc
                continue
            except (RecursionError, ValueError) as exc:
                raise DecpDocumentError(f"unreadable JSON value: {str(exc)[:200] or 'nested too deeply'}") from exc
            if end == len(self.buf) and self.fill():  # a number may go on in the next chunk
                continue
            self.pos = end
            return obj

    def items(self) -> Iterator[Any]:
        """The values of the array starting here, one at a time."""
        self.expect("[", "'['")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            c = self.peek()
            self.pos += 1
            if c == "]":
                return
            if c != ",":
                raise DecpDocumentError(f"invalid JSON at character {self.consumed + self.pos - 1}: expected ',' "
                                        "or ']' between records")

    def skip(self) -> None:
        if self.peek() == "[":
            for _ in self.items():
                pass
        else:
            self.value()

    def end(self) -> None:
        if self.peek():
            raise DecpDocumentError(f"invalid JSON at character {self.consumed + self.pos}: extra data after the "
                                    "document")


def _members(t: _Text) -> Iterator[str]:
    """The keys of the object starting here; the caller reads (or skips) each value."""
    t.expect("{", "'{'")
    if t.peek() == "}":
        t.pos += 1
        return
    while True:
        key = t.value()
        if not isinstance(key, str):
            raise DecpDocumentError("invalid JSON: an object key is not a string")
        t.expect(":", "':'")
        yield key
        c = t.peek()
        t.pos += 1
        if c == "}":
            return
        if c != ",":
            raise DecpDocumentError(f"invalid JSON at character {t.consumed + t.pos - 1}: expected ',' or '}}'")


def _pass(open_file: Callable[[], BinaryIO], want: str, state: dict) -> Iterator[tuple[str, Any]]:
    """One reading of the document: ("2019", item) of a list container, or ("2022", item) of the ``want``
    array of a 2022 container; ``state`` learns the shape and the keys met."""
    t = _Text(open_file)
    try:
        top = t.peek()
        if top == "[":
            state["shape"] = "list"
            for item in t.items():
                yield "2019", item
        elif top == "{":
            for key in _members(t):
                if key != "marches":
                    t.skip()
                    continue
                c = t.peek()
                if c == "[":
                    state["shape"] = "2019"
                    for item in t.items():
                        yield "2019", item
                elif c == "{":
                    state["shape"] = "2022"
                    for inner in _members(t):
                        state.setdefault("keys", set()).add(inner)
                        if inner != want:
                            t.skip()
                        elif t.peek() == "[":
                            for item in t.items():
                                yield "2022", item
                        else:
                            value = t.value()
                            yield from (("2022", v) for v in ([] if value is None else [value]))
                else:
                    found = type(t.value()).__name__
                    raise DecpDocumentError(f"'marches' is a {found}, expected a list or an object")
        elif top:
            raise DecpDocumentError(f"no 'marches' container at the top of the document (found {top!r})")
        else:
            raise DecpDocumentError("empty file")
        t.end()
    finally:
        t.close()
    if "shape" not in state:
        raise DecpDocumentError("no 'marches' container at the top of the document")


def stream_records(open_file: Callable[[], BinaryIO]) -> Iterator[RawRecord]:
    """Every record of a DECP JSON document, in the order and with the indexes of ``iter_records``."""
    state: dict = {}
    index = 0
    for fmt, item in _pass(open_file, KIND_MARCHE, state):
        kind = _kind_2019(item) if fmt == "2019" else (KIND_MARCHE if isinstance(item, dict) else KIND_UNKNOWN)
        yield RawRecord(fmt, kind, index, _dump(item))
        index += 1
    if state.get("shape") != "2022":
        return
    keys = state.get("keys", set())
    if keys and not keys & {KIND_MARCHE, KIND_CONCESSION}:
        raise DecpDocumentError(f"'marches' object holds neither 'marche' nor 'contrat-concession' ({sorted(keys)})")
    for _, item in _pass(open_file, KIND_CONCESSION, {}):
        yield RawRecord("2022", KIND_CONCESSION if isinstance(item, dict) else KIND_UNKNOWN, index, _dump(item))
        index += 1
