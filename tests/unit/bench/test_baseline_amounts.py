"""The DuckDB baseline's amount exclusion (bench/sql/marches.sql) says what the DECP normaliser says."""

from __future__ import annotations

import re

import duckdb
import pytest

from bench.baseline import SQL_DIR, sql_params
from jobs.silver.decp_normalize import montant_exclusion

VALUES = [127000.0, 123456789.0, 1234567890.0, 12345678.9, 999999999.0, 9999999.0, 999999.0, 1111111.0,
          1999999999.0, 1777777700.0, 250000000.0, 1e17, 0.0, 0.5, 1.0, 15e9, 15e9 + 1, 123456.89, 99999999.99,
          40000.0, 1234567.0, 2111111110.0, 5555555.5]


@pytest.mark.parametrize("value", VALUES)
def test_sql_macro_equals_the_normaliser(value):
    sql = (SQL_DIR / "marches.sql").read_text(encoding="utf-8")
    macro = re.search(r"CREATE OR REPLACE MACRO montant_exclusion.*?END;", sql, re.S).group(0)
    for key, v in sql_params().items():
        macro = macro.replace("{" + key + "}", v)
    con = duckdb.connect()
    con.execute(macro)
    assert con.execute("SELECT montant_exclusion(CAST(? AS DOUBLE))", [value]).fetchone()[0] == montant_exclusion(value)
