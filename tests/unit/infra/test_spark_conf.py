"""The Spark configuration the settings give (no JVM started)."""

from __future__ import annotations

from jobs.core.settings import Settings
from jobs.core.spark import spark_conf


def test_interpreted_mode_switches_code_generation_off_and_only_then():
    settings = Settings.from_env()
    on = spark_conf(settings.replace(spark_interpreted=True))
    off = spark_conf(settings.replace(spark_interpreted=False))
    assert (on["spark.sql.codegen.factoryMode"], on["spark.sql.codegen.wholeStage"]) == ("NO_CODEGEN", "false")
    assert "spark.sql.codegen.factoryMode" not in off and "spark.sql.codegen.wholeStage" not in off
