"""The one Spark session builder: Delta Lake, and S3A when the lake is on object storage."""

from __future__ import annotations

import glob
import os
import sys

from pyspark.sql import SparkSession

from jobs.core.settings import Settings
from jobs.core.storage import split_s3


def s3a_options(settings: Settings) -> dict[str, str]:
    """Hadoop S3A options for the settings' S3-compatible endpoint."""
    return {
        "fs.s3a.endpoint": settings.s3_endpoint,
        "fs.s3a.endpoint.region": settings.s3_region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(settings.s3_endpoint.startswith("https")).lower(),
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.access.key": settings.s3_access_key,
        "fs.s3a.secret.key": settings.s3_secret_key,
        "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        # Plain S3 only: stores such as S3Proxy lack conditional PUT and SDK checksum trailers.
        "fs.s3a.create.conditional.enabled": "false",
        "fs.s3a.checksum.generation": "false",
        "fs.s3a.attempts.maximum": "3",
        "fs.s3a.retry.limit": "3",
    }


def reach_lake(spark: SparkSession, settings: Settings) -> None:
    """Point an already running session at the settings' lake bucket (per-bucket S3A options): a process
    whose session was built for another lake (a local one, another endpoint) can still read and write it."""
    if not (settings.on_s3 and settings.s3_endpoint):
        return
    bucket, _ = split_s3(settings.lake_uri)
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in s3a_options(settings).items():
        if key.startswith("fs.s3a.") and key != "fs.s3a.impl":
            conf.set(f"fs.s3a.bucket.{bucket}.{key.removeprefix('fs.s3a.')}", value)
    for key in ("fs.s3a.impl", "fs.s3.impl"):
        conf.set(key, "org.apache.hadoop.fs.s3a.S3AFileSystem")


SMALL_INPUTS_JVM = ("-XX:+UseParallelGC", "-XX:Tier4InvocationThreshold=15000", "-XX:Tier4MinInvocationThreshold=1800",
                    "-XX:Tier4CompileThreshold=45000", "-XX:Tier4BackEdgeThreshold=120000")


def spark_conf(settings: Settings) -> dict[str, str]:
    """Spark configuration for these settings (kept separate from the builder so it can be tested)."""
    jars = sorted(glob.glob(os.path.join(settings.spark_jars_dir, "*.jar")))
    if not any("delta-spark" in j for j in jars):
        raise RuntimeError(
            f"No Delta jars in {settings.spark_jars_dir}: run `bash infra/bootstrap.sh` (or `make setup`) first"
        )
    conf = {
        "spark.master": settings.spark_master,
        "spark.app.name": "observatoire-clauses",
        "spark.jars": ",".join(jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.ansi.enabled": "false",
        "spark.databricks.delta.snapshotPartitions": "2",
        # VACUUM lists a table's folders with this many tasks (Spark's default 10,000 made a VACUUM of a
        # small table last ~50 s on 2 cores); a cluster raises it with its shuffle partitions (decision 208).
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(settings.spark_shuffle_partitions),
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # Memory pages of 4 MB, not the 64 MB Spark derives from the driver's memory: a broadcast hash relation
        # of a small table holds a whole page while its query runs (a tiny run's JVM peaked at 2.3 GB instead of
        # 4.6 GB, decision 217). A deployment sets its own with OBS_SPARK_CONF_spark__buffer__pageSize.
        "spark.buffer.pageSize": "4m",
    }
    if settings.spark_small_inputs:
        conf.update({"spark.sql.codegen.factoryMode": "NO_CODEGEN", "spark.sql.codegen.wholeStage": "false",
                     "spark.sql.adaptive.enabled": "false", "spark.sql.shuffle.partitions": "1",
                     "spark.databricks.delta.writeChecksumFile.enabled": "false",
                     # A short-lived driver: the throughput collector, and the optimising compiler (C2) kept for
                     # methods called three times as often as by default (compilation took half the JVM's CPU).
                     "spark.driver.extraJavaOptions": " ".join(SMALL_INPUTS_JVM)})
    if settings.s3_endpoint:
        conf.update({f"spark.hadoop.{k}": v for k, v in s3a_options(settings).items()})
        conf["spark.delta.logStore.s3a.impl"] = "io.delta.storage.S3SingleDriverLogStore"
    conf.update(settings.extra_spark_conf)
    return conf


def get_spark(settings: Settings | None = None) -> SparkSession:
    """Return the process's Spark session, creating it on first use (one session per process)."""
    settings = settings or Settings.from_env()
    active = SparkSession.getActiveSession()
    if active is not None:
        reach_lake(active, settings)
        return active
    # Python workers run the same interpreter (and packages) as the driver unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if settings.spark_master.startswith("local"):
        # Keep a local driver on loopback (this machine has no other network to offer).
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()  # may be a session another thread started: reach this lake too
    spark.sparkContext.setLogLevel("WARN")
    reach_lake(spark, settings)
    return spark
