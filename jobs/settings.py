"""The one settings object: every knob comes from the environment (``OBS_*``), with local defaults.

Local defaults are for local use only; anything secret (S3 keys, the pseudonymisation key) must be set
in the environment of a real deployment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A lake on the local disk without a configured key gets a random one, made once and kept with the lake
# (not in the repository: a published key would let anyone recompute pseudonyms from enumerable ids).
LOCAL_KEY_FILE = "_local/pseudonymization.key"


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
    sheet_period: str = ""  # "2025" or "2025-T3"; empty = the last complete year
    report_year: int = 0  # 0 = the last complete year
    chromium: str = "/usr/bin/chromium"
    publish_pdf: bool = True
    table_locks: bool = True
    table_lock_timeout_seconds: float = 3600.0
    table_lock_lease_seconds: float = 60.0
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
            sheet_period=_env("OBS_SHEET_PERIOD", ""),
            report_year=int(_env("OBS_REPORT_YEAR", "0")),
            chromium=_env("OBS_CHROMIUM", cls.chromium),
            publish_pdf=_env("OBS_PUBLISH_PDF", "true").lower() in ("1", "true", "yes"),
            table_locks=_env("OBS_TABLE_LOCKS", "true").lower() in ("1", "true", "yes"),
            table_lock_timeout_seconds=float(_env("OBS_TABLE_LOCK_TIMEOUT_SECONDS", "3600")),
            table_lock_lease_seconds=float(_env("OBS_TABLE_LOCK_LEASE_SECONDS", "60")),
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
        lake without one gets a random key, created on first use in ``<lake>/_local/`` (owner-only)."""
        if self.pseudonymization_key:
            return self.pseudonymization_key.encode()
        if self.on_s3:
            raise RuntimeError("OBS_PSEUDONYMIZATION_KEY must be set when the lake is on object storage")
        path = self.lake_path / LOCAL_KEY_FILE
        if not path.exists():
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32))
            except FileExistsError:
                pass  # another task made it first: use theirs
        return path.read_text().strip().encode()

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
