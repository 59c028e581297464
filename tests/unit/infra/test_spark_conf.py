"""The Spark configuration the settings give (no JVM started)."""

from __future__ import annotations

from jobs.core.settings import Settings
from jobs.core.spark import spark_conf

SMALL = ("spark.sql.codegen.factoryMode", "spark.sql.codegen.wholeStage", "spark.sql.adaptive.enabled",
         "spark.sql.shuffle.partitions", "spark.databricks.delta.writeChecksumFile.enabled",
         "spark.driver.extraJavaOptions")


def test_the_small_inputs_profile_is_switched_on_by_its_setting_and_only_then():
    settings = Settings.from_env().replace(extra_spark_conf={}, spark_shuffle_partitions=8)
    on = spark_conf(settings.replace(spark_small_inputs=True))
    off = spark_conf(settings.replace(spark_small_inputs=False))
    assert [on[k] for k in SMALL[:-1]] == ["NO_CODEGEN", "false", "false", "1", "false"]
    assert on[SMALL[-1]].split()[:2] == ["-XX:+UseParallelGC", "-XX:Tier4InvocationThreshold=15000"]
    # Spark's defaults, and the settings' partitions
    assert [off.get(k) for k in SMALL] == [None, None, None, "8", None, None]


def test_memory_pages_are_small_unless_a_deployment_says_otherwise():
    settings = Settings.from_env().replace(extra_spark_conf={})
    assert spark_conf(settings)["spark.buffer.pageSize"] == "4m"
    cluster = settings.replace(extra_spark_conf={"spark.buffer.pageSize": "64m"})
    assert spark_conf(cluster)["spark.buffer.pageSize"] == "64m"
