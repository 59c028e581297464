"""The one settings object: every knob comes from the environment (``OBS_*``), with local defaults.

Local defaults are for local use only; anything secret (S3 keys, the pseudonymisation key) must be set
in the environment of a real deployment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Used only for a lake on the local disk (demo, tests): real deployments set OBS_PSEUDONYMIZATION_KEY.
LOCAL_ONLY_PSEUDONYMIZATION_KEY = b"local-demo-key--not-for-real-data"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _abs(path: str) -> str:
    """Relative local paths are taken from the project root, so tasks behave the same from any cwd."""
    if "://" in path:
        return path
    p = Path(path)
    return str(p if p.is_absolute() else PROJECT_ROOT / p)


def _per_source(text: str) -> dict[str, int]:
    """``"decp=40,sirene=100"`` -> {"decp": 40, "sirene": 100}."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    return {k.strip(): int(v) for k, v in pairs}


@dataclass(frozen=True)
class Settings:
    lake_uri: str = "./lake"
    inbox_dir: str = "./data/inbox"
    output_dir: str = "./output"
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = 4
    spark_driver_memory: str = "4g"
    spark_jars_dir: str = "./infra/jars/lib"
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    small_cell_threshold: int = 5
    pseudonymization_key: str = ""
    outcome_boundary_months: int = 6
    gold_full_recompute: bool = False
    downloads_file: str = ""
    extra_spark_conf: dict[str, str] = field(default_factory=dict)
    # operations: alerts, monitoring thresholds, maintenance
    alert_email: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "observatoire@localhost"
    smtp_starttls: bool = False
    freshness_max_days: dict[str, int] = field(default_factory=dict)
    default_freshness_max_days: int = 45
    max_quarantine_rate: float = 0.2
    vacuum_retention_hours: int = 168
    schedule_end: str = ""  # YYYY-MM-DD: no scheduled monthly run after it (backfills still run before it)

    @classmethod
    def from_env(cls) -> Settings:
        extra = {
            k[len("OBS_SPARK_CONF_"):].replace("__", "."): v
            for k, v in os.environ.items()
            if k.startswith("OBS_SPARK_CONF_")
        }
        return cls(
            lake_uri=_abs(_env("OBS_LAKE_URI", cls.lake_uri)).rstrip("/"),
            inbox_dir=_abs(_env("OBS_INBOX_DIR", cls.inbox_dir)),
            output_dir=_abs(_env("OBS_OUTPUT_DIR", cls.output_dir)),
            spark_master=_env("OBS_SPARK_MASTER", cls.spark_master),
            spark_shuffle_partitions=int(_env("OBS_SPARK_SHUFFLE_PARTITIONS", str(cls.spark_shuffle_partitions))),
            spark_driver_memory=_env("OBS_SPARK_DRIVER_MEMORY", cls.spark_driver_memory),
            spark_jars_dir=_abs(_env("OBS_SPARK_JARS_DIR", cls.spark_jars_dir)),
            s3_endpoint=_env("OBS_S3_ENDPOINT", ""),
            s3_access_key=_env("OBS_S3_ACCESS_KEY", ""),
            s3_secret_key=_env("OBS_S3_SECRET_KEY", ""),
            s3_region=_env("OBS_S3_REGION", cls.s3_region),
            small_cell_threshold=int(_env("OBS_SMALL_CELL_THRESHOLD", str(cls.small_cell_threshold))),
            pseudonymization_key=_env("OBS_PSEUDONYMIZATION_KEY", ""),
            outcome_boundary_months=int(_env("OBS_OUTCOME_BOUNDARY_MONTHS", "6")),
            gold_full_recompute=_env("OBS_GOLD_FULL_RECOMPUTE", "false").lower() in ("1", "true", "yes"),
            downloads_file=_abs(_env("OBS_DOWNLOADS_FILE", "")) if _env("OBS_DOWNLOADS_FILE", "") else "",
            extra_spark_conf=extra,
            alert_email=_env("OBS_ALERT_EMAIL", ""),
            smtp_host=_env("OBS_SMTP_HOST", ""),
            smtp_port=int(_env("OBS_SMTP_PORT", "25")),
            smtp_user=_env("OBS_SMTP_USER", ""),
            smtp_password=_env("OBS_SMTP_PASSWORD", ""),
            smtp_from=_env("OBS_SMTP_FROM", cls.smtp_from),
            smtp_starttls=_env("OBS_SMTP_STARTTLS", "false").lower() in ("1", "true", "yes"),
            freshness_max_days=_per_source(_env("OBS_FRESHNESS_MAX_DAYS", "")),
            default_freshness_max_days=int(_env("OBS_FRESHNESS_DEFAULT_MAX_DAYS", "45")),
            max_quarantine_rate=float(_env("OBS_MAX_QUARANTINE_RATE", "0.2")),
            vacuum_retention_hours=int(_env("OBS_VACUUM_RETENTION_HOURS", "168")),
            schedule_end=_env("OBS_SCHEDULE_END", ""),
        )

    @property
    def on_s3(self) -> bool:
        return self.lake_uri.startswith(("s3a://", "s3://"))

    def pseudonymization_key_bytes(self) -> bytes:
        """The HMAC key for person ids. A lake on object storage must have a configured key; a local
        lake falls back to a fixed key that is only fit for local demos and tests."""
        if self.pseudonymization_key:
            return self.pseudonymization_key.encode()
        if self.on_s3:
            raise RuntimeError("OBS_PSEUDONYMIZATION_KEY must be set when the lake is on object storage")
        return LOCAL_ONLY_PSEUDONYMIZATION_KEY

    @property
    def inbox_path(self) -> Path:
        return Path(self.inbox_dir)

    @property
    def lake_path(self) -> Path:
        """The lake as a local folder (only meaningful when the lake is not on S3)."""
        if self.on_s3:
            raise ValueError(f"the lake {self.lake_uri} is on object storage, not a local folder")
        return Path(self.lake_uri)

    def table_uri(self, name: str) -> str:
        """URI of a Delta table of the lake, e.g. ``table_uri("silver/marches")``."""
        return f"{self.lake_uri}/{name}"

    def max_age_days(self, source: str) -> int:
        """Freshness threshold of a source (``OBS_FRESHNESS_MAX_DAYS``, else the default)."""
        return self.freshness_max_days.get(source, self.default_freshness_max_days)

    def zone_uri(self, zone: str) -> str:
        return f"{self.lake_uri}/{zone}"
