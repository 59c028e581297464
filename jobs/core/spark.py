"""The one Spark session builder: Delta Lake, and S3A when the lake is on object storage."""

from __future__ import annotations

import glob
import os
import sys

from pyspark.sql import SparkSession

from jobs.core.settings import Settings


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
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
    }
    if settings.s3_endpoint:
        ssl = settings.s3_endpoint.startswith("https")
        conf.update(
            {
                "spark.hadoop.fs.s3a.endpoint": settings.s3_endpoint,
                "spark.hadoop.fs.s3a.endpoint.region": settings.s3_region,
                "spark.hadoop.fs.s3a.path.style.access": "true",
                "spark.hadoop.fs.s3a.connection.ssl.enabled": str(ssl).lower(),
                "spark.hadoop.fs.s3a.aws.credentials.provider":
                    "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
                "spark.hadoop.fs.s3a.access.key": settings.s3_access_key,
                "spark.hadoop.fs.s3a.secret.key": settings.s3_secret_key,
                "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                # Plain S3 only: stores such as S3Proxy lack conditional PUT and SDK checksum trailers.
                "spark.hadoop.fs.s3a.create.conditional.enabled": "false",
                "spark.hadoop.fs.s3a.checksum.generation": "false",
                "spark.hadoop.fs.s3a.attempts.maximum": "3",
                "spark.hadoop.fs.s3a.retry.limit": "3",
                "spark.delta.logStore.s3a.impl": "io.delta.storage.S3SingleDriverLogStore",
            }
        )
    conf.update(settings.extra_spark_conf)
    return conf


def get_spark(settings: Settings | None = None) -> SparkSession:
    """Return the process's Spark session, creating it on first use (one session per process)."""
    settings = settings or Settings.from_env()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Python workers run the same interpreter (and packages) as the driver unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if settings.spark_master.startswith("local"):
        # Keep a local driver on loopback (this machine has no other network to offer).
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
