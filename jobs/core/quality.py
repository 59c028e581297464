"""Rules of ``schemas.rules`` turned into Spark predicates (row split) and a Pandera schema (audit)."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pandas as pd
import pandera.pyspark as pa
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from stdnum.fr import siret as stdnum_siret

from schemas.rules import Rule, rules_for

ISSUE_TYPE = T.ArrayType(T.StructType([
    T.StructField("rule_id", T.StringType()),
    T.StructField("message", T.StringType()),
]))


@F.pandas_udf(T.BooleanType())
def siret_is_valid(values: pd.Series) -> pd.Series:
    """SIRET checksum (Luhn, with La Poste's exception) as python-stdnum implements it."""
    return values.map(lambda v: bool(v) and stdnum_siret.is_valid(v))


def _bound(value: object, today: date) -> object:
    """'today', 'today+N' (days) or a literal."""
    if isinstance(value, str) and value.startswith("today"):
        days = int(value[len("today+"):]) if value.startswith("today+") else 0
        return (today + timedelta(days=days)).isoformat()
    return value


def predicate(rule: Rule, today: date) -> Column | None:
    """Spark column that is true when a row passes ``rule`` (None for rules checked elsewhere)."""
    if rule.column is None or rule.kind in ("parse", "unique"):
        return None
    c = F.col(rule.column)
    p = rule.params
    if rule.kind == "not_null":
        check = F.lit(True)
    elif rule.kind == "in_set":
        check = c.isin(list(p["values"]))
    elif rule.kind == "range":
        check = c.between(p["min"], p["max"])
    elif rule.kind == "date_range":
        check = c.between(F.lit(_bound(p["min"], today)).cast("date"), F.lit(_bound(p["max"], today)).cast("date"))
    elif rule.kind == "siret":
        check = siret_is_valid(c)
    elif rule.kind == "not_before":
        other = F.col(p["other"])
        check = other.isNull() | (c >= other)
    elif rule.kind == "not_after":
        other = F.col(p["other"])
        check = other.isNull() | (c <= other)
    elif rule.kind == "not_combined":
        check = ~(F.array_contains(c, p["exclusive"]) & (F.size(c) > 1))
    else:
        raise ValueError(f"unknown rule kind {rule.kind!r} ({rule.id})")
    check = F.coalesce(check, F.lit(False))
    return (c.isNotNull() & check) if rule.required else (c.isNull() | check)


def _failure_message(rule: Rule) -> Column:
    value = F.coalesce(F.col(rule.column).cast("string"), F.lit("absent"))
    return F.concat(F.lit(f"{rule.message}: "), value)


def apply_rules(df: DataFrame, table: str, today: date) -> DataFrame:
    """Add ``issues`` (array of rule_id, message): parse issues already present plus failed predicates.

    A rule already reported by the normaliser is not reported twice.
    """
    failures = []
    for rule in rules_for(table):
        pred = predicate(rule, today)
        if pred is None:
            continue
        failures.append(F.when(~pred, F.struct(F.lit(rule.id).alias("rule_id"),
                                                _failure_message(rule).alias("message"))))
    found = F.filter(F.array(*failures), lambda x: x.isNotNull()) if failures else F.array().cast(ISSUE_TYPE)
    parsed = F.coalesce(F.col("issues"), F.array().cast(ISSUE_TYPE))
    parsed_ids = F.transform(parsed, lambda x: x["rule_id"])
    new = F.filter(found, lambda x: ~F.array_contains(parsed_ids, x["rule_id"]))
    return df.withColumn("issues", F.concat(parsed, new))


def split_valid(df: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Rows without issues, rows with issues (the two never overlap, their union is the input)."""
    has_issue = F.size(F.col("issues")) > 0
    return df.filter(~has_issue), df.filter(has_issue)


# Failing-row counts of every rule of the frame being audited, computed in one Spark job by ``audit``
# (one pass over the table instead of one job per rule); a check run outside ``audit`` computes its own.
# Per thread: two tables audited at once (jobs.core.parallel) must not read each other's counts.
_AUDIT = threading.local()


def _audit_failures() -> dict[str, int]:
    if not hasattr(_AUDIT, "failures"):
        _AUDIT.failures = {}
    return _AUDIT.failures


def pandera_schema(table: str, columns: dict[str, T.DataType], today: date) -> pa.DataFrameSchema:
    """Pandera schema of a silver table: dtypes plus one check per rule, from the same predicates."""
    checks: dict[str, list[pa.Check]] = {}
    predicates: dict[str, Column] = {}
    for rule in rules_for(table):
        pred = predicate(rule, today)
        if pred is None or rule.column not in columns:
            continue
        predicates[rule.id] = pred

        def _holds(data, rule_id: str, _pred: Column = pred) -> bool:
            failures = _audit_failures()
            if rule_id in failures:
                return failures[rule_id] == 0
            return data.dataframe.filter(~_pred).limit(1).count() == 0

        checks.setdefault(rule.column, []).append(
            pa.Check(_holds, name=rule.id, error=f"{rule.id}: {rule.message}", rule_id=rule.id)
        )
    return pa.DataFrameSchema(
        {name: pa.Column(dtype, checks=checks.get(name, []), nullable=True) for name, dtype in columns.items()},
        name=f"silver.{table}", metadata={"predicates": predicates},
    )


def audit(df: DataFrame, schema: pa.DataFrameSchema) -> list[str]:
    """Run Pandera on what is about to be published; return the readable list of failures."""
    predicates = (schema.metadata or {}).get("predicates", {})
    failures = _audit_failures()
    failures.clear()
    if predicates and all(c in df.columns for c in schema.columns):
        try:
            row = df.agg(*[F.sum((~p).cast("int")).alias(f"r{i}") for i, p in enumerate(predicates.values())]).first()
            failures.update({rule_id: row[i] or 0 for i, rule_id in enumerate(predicates)})
        except AnalysisException:
            pass  # a column of the wrong shape: the checks run one by one and Pandera reports it
    try:
        validated = schema.validate(df)
    finally:
        failures.clear()
    errors = validated.pandera.errors
    messages = []
    for level in errors.values():
        for kind in level.values():
            for err in kind:
                messages.append(f"{err.get('column')}: {err.get('error')}")
    return messages
