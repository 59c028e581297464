"""Label matching in Spark: the twin of ``schemas.referential.fold`` and the referential code lookups.

The twin is built from the tables and patterns the Python fold publishes (``fold_char_tables``,
``COMPARISONS``, ``REFERENCE``...), so the two follow one definition; a test checks they give the same key for
every label of every referential list and for hand-written variants. Lookups are plain map literals: no Python
UDF runs to code a label.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache

from pyspark.sql import Column
from pyspark.sql import functions as F

from schemas import referential as ref


def _java(replacement: str) -> str:
    """A Python ``re`` replacement (``\\1``) in Java's syntax (``$1``)."""
    return replacement.replace("\\1", "$1").replace("\\2", "$2")


def let(value: Column, body: Callable[[Column], Column]) -> Column:
    """``body(v)`` where ``v`` is ``value`` computed once: a lambda binds it, so a long expression used
    several times by ``body`` is not copied into the plan several times (planning time grows with its size)."""
    return F.transform(F.array(value), body)[0]


def spark_fold_text(c: Column) -> Column:
    """The Spark twin of ``schemas.referential.fold_text`` (case, accents, ligatures, punctuation, spaces)."""
    src, dst, deleted, multi = ref.fold_char_tables()
    text = c
    for pattern, repl in ref.SYMBOLS:
        text = F.regexp_replace(text, pattern, repl)
    text = F.translate(text, src + deleted, dst)  # characters beyond ``dst`` are deleted
    for char, image in multi.items():
        text = F.replace(text, F.lit(char), F.lit(image))
    text = F.regexp_replace(F.lower(text), r"[^\p{L}\p{N}]", " ")
    return F.trim(F.regexp_replace(text, " +", " "))


def spark_fold(c: Column) -> Column:
    """The Spark twin of ``schemas.referential.fold``: ``spark_fold_text`` plus article references."""
    text = F.regexp_replace(spark_fold_text(c), ref.ARTICLE_WORD[0], ref.ARTICLE_WORD[1])
    text = F.regexp_replace(F.regexp_replace(text, ref.CODED_ARTICLE, _java(r"\1\2")), ref.ARTICLE_BEFORE_CODED, "")
    return let(text, lambda t: let(F.array_distinct(F.regexp_extract_all(t, F.lit(ref.REFERENCE), F.lit(0))),
                                   lambda refs: F.when(F.size(refs) == 1, refs[0]).otherwise(t)))


def literal_map(mapping: Mapping[str, str | None]) -> Column:
    """A string -> string map literal (``literal_map(d)[key]``). One JSON literal that the optimizer folds into
    a map constant: ``create_map`` of thousands of literal columns costs seconds of py4j calls and planning per
    use (the communes' départements, the referential lists), this costs one call."""
    return F.from_json(F.lit(json.dumps(dict(sorted(mapping.items())), ensure_ascii=False)), "map<string,string>")


@cache
def _code_map(list_name: str) -> Column:
    return literal_map(ref.mapping(list_name)._lookup)


def code_of_key(key: Column, list_name: str) -> Column:
    """Referential code of a folded key: an alias, else the one code whose ``contains`` phrases the key holds
    (as whole words); None when no code or several codes match (the label is then listed for mapping)."""
    contains = ref.mapping(list_name).contains
    if not contains:
        return _code_map(list_name)[key]

    def lookup(k: Column) -> Column:
        padded = F.concat(F.lit(" "), k, F.lit(" "))
        hits = F.array_distinct(F.filter(F.array(*[F.when(padded.contains(f" {phrase} "), F.lit(code))
                                                     for phrase, code in contains]), lambda x: x.isNotNull()))
        return F.coalesce(_code_map(list_name)[k], F.when(F.size(hits) == 1, hits[0]))

    return let(key, lookup)


def code_of(c: Column, list_name: str) -> Column:
    """Referential code of a raw label (None when the label is in no list)."""
    return code_of_key(spark_fold(c), list_name)
