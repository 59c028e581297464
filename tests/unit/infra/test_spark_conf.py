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


def test_memory_pages_are_small_unless_a_deployment_says_otherwise():
    settings = Settings.from_env().replace(extra_spark_conf={})
    assert spark_conf(settings)["spark.buffer.pageSize"] == "4m"
    cluster = settings.replace(extra_spark_conf={"spark.buffer.pageSize": "64m"})
    assert spark_conf(cluster)["spark.buffer.pageSize"] == "64m"
