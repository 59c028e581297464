"""The labels a facilitator's declaration maps to referential codes (``values:``), applied at silver.

Bronze keeps each label as the facilitator wrote it; here, before the referential coding of
``jobs/silver/sources.py``, a declared label is replaced by its code (a code is one of its own list's labels,
so the coding that follows finds it). A steward who adds a mapping therefore only needs silver rebuilt
(``python -m jobs.pipeline requalify``), not the files loaded again.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.core.labels import literal_map
from schemas.sources import SourceContract

MULTI_VALUED = {"criteres_eligibilite": r"\s*[|;,/]\s*"}  # as silver splits them (typed_participants)
SEP = "\x1f"


def declared_map(contract: SourceContract, entity: str, column: str) -> dict[str, str]:
    """``<facilitateur>\\x1f<folded label>`` -> code, over every declaration mapping this column."""
    return {f"{fac}{SEP}{label}": code for fac, decl in sorted(contract.declarations.items())
            for label, code in sorted(decl.values.get((entity, column), {}).items())}


def apply_declared_values(frame: DataFrame, entity: str, contract: SourceContract,
                          fold: Callable[[Column], Column]) -> DataFrame:
    """``frame`` (bronze rows of ``entity``, with ``facilitateur``) with each declared label replaced by its
    code; ``fold`` is silver's label fold (``sources.spark_fold``), so a label matches as the referential's do."""
    for column in [c for e, c in (f.split(".") for f in contract.code_lists) if e == entity]:
        pairs = declared_map(contract, entity, column)
        if not pairs or column not in frame.columns:
            continue
        lookup = literal_map(pairs)

        def coded(label: Column, lookup: Column = lookup) -> Column:
            return F.coalesce(lookup[F.concat_ws(SEP, F.col("facilitateur"), fold(label))], label)

        if column in MULTI_VALUED:
            parts = F.split(F.col(column), MULTI_VALUED[column])
            value = F.when(F.col(column).isNotNull(), F.array_join(F.transform(parts, coded), "|"))
        else:
            value = coded(F.col(column))
        frame = frame.withColumn(column, value)
    return frame


def values_to_map_of(spark, settings, facilitateur: str) -> list[dict]:
    """The labels of one facilitator still listed in ``quality/values_to_map`` (most frequent first)."""
    from jobs.core.delta_io import table_exists

    if not table_exists(spark, settings.table_uri("quality/values_to_map")):
        return []
    df = spark.read.format("delta").load(settings.table_uri("quality/values_to_map"))
    return [r.asDict() for r in df.filter(F.col("source") == facilitateur).orderBy(F.desc("rows"), "table",
                                                                                   "column", "value").collect()]


def facilitators_in_bronze(spark, settings, contract: SourceContract) -> set[str]:
    """Facilitators with at least one row in a bronze table of theirs."""
    from jobs.core.delta_io import table_exists

    found: set[str] = set()
    for entity in contract.entities.values():
        uri = settings.table_uri(entity.table)
        if table_exists(spark, uri):
            found |= {r[0] for r in spark.read.format("delta").load(uri).select("facilitateur").distinct().collect()}
    return found
