"""The one settings object: every knob comes from the environment (``OBS_*``), with local defaults.

Built on pydantic-settings: a wrong value fails at start-up with the variable's name (``OBS_SMALL_CELL_THRESHOLD:
Input should be a valid integer``), not deep inside a Spark job. Local defaults are for local use only;
anything secret (S3 keys, the pseudonymisation key) must be set in the environment of a real deployment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DISCLOSURE_POLICY = PROJECT_ROOT / "schemas" / "disclosure.yaml"


def disclosure_threshold() -> int:
    """The frequency threshold of the disclosure policy (``schemas/disclosure.yaml``): the default of
    ``OBS_SMALL_CELL_THRESHOLD``, so that the file is the one place the value is written (decision 180)."""
    import yaml

    return int(yaml.safe_load(DISCLOSURE_POLICY.read_text(encoding="utf-8"))["threshold"])
# A lake on the local disk without a configured key gets a random one, made once and kept with the lake
# (not in the repository: a published key would let anyone recompute pseudonyms from enumerable ids).
LOCAL_KEY_FILE = "_local/pseudonymization.key"
SPARK_CONF_PREFIX = "OBS_SPARK_CONF_"


def _abs(path: str) -> str:
    """Relative local paths are taken from the project root, so tasks behave the same from any cwd."""
    if not path or "://" in path:
        return path
    p = Path(path)
    return str(p if p.is_absolute() else PROJECT_ROOT / p)


def _per_source(text: Any) -> Any:
    """``"decp=40,sirene=100"`` -> {"decp": 40, "sirene": 100}."""
    if not isinstance(text, str):
        return text
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"expected source=days pairs separated by commas, got {text!r}")
    return {k.strip(): int(v) for k, v in pairs}


def _spark_conf_from_env() -> dict[str, str]:
    """``OBS_SPARK_CONF_spark__executor__memory=8g`` -> {"spark.executor.memory": "8g"}."""
    return {k[len(SPARK_CONF_PREFIX):].replace("__", "."): v for k, v in os.environ.items()
            if k.startswith(SPARK_CONF_PREFIX)}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OBS_", frozen=True, extra="ignore", env_ignore_empty=True)

    lake_uri: str = "./lake"
    inbox_dir: str = "./data/inbox"
    output_dir: str = "./output"
    sources_dir: str = ""  # facilitators' declarations (YAML files); empty = the repository's schemas/sources
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = 4
    spark_driver_memory: str = "4g"
    # Small inputs (tests, a tiny inbox): Spark's machinery for big data costs more than it saves below some
    # thousands of rows. Expressions are interpreted, not compiled (decision 213); no adaptive execution (each of
    # its query stages is one more Spark job), one shuffle partition, no checksum file per commit, and a driver JVM
    # tuned for a short life (decision 218).
    spark_small_inputs: bool = False
    spark_jars_dir: str = "./infra/jars/lib"
    # Independent tables a stage writes at once (decision 215): a small table's write keeps one core busy.
    table_threads: int = Field(2, ge=1)
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    small_cell_threshold: int = Field(default_factory=disclosure_threshold, ge=1)
    pseudonymization_key: str = ""
    # Outcomes: the situation "at 6 months" is one observed in this window (months after the contract's end,
    # bounds included); with several, the one nearest ``outcome_months``.
    outcome_months: int = Field(6, ge=0)
    outcome_window_months: Annotated[tuple[int, int], NoDecode] = (5, 9)
    gold_full_recompute: bool = False
    downloads_file: str = ""
    sheet_period: str = ""  # "2025" or "2025-T3"; empty = the last complete year
    report_year: int = 0  # 0 = the last complete year
    chromium: str = "/usr/bin/chromium"
    publish_pdf: bool = True
    table_locks: bool = True
    table_lock_timeout_seconds: float = 3600.0
    table_lock_lease_seconds: float = 60.0
    extra_spark_conf: dict[str, str] = Field(default_factory=_spark_conf_from_env)
    # operations: alerts, monitoring thresholds, maintenance
    alert_email: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "observatoire@localhost"
    smtp_starttls: bool = False
    freshness_max_days: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    freshness_default_max_days: int = 45
    max_quarantine_rate: float = 0.2
    vacuum_retention_hours: int = 168
    schedule_end: str = ""  # YYYY-MM-DD: no scheduled monthly run after it (backfills still run before it)

    @field_validator("lake_uri", mode="after")
    @classmethod
    def _lake(cls, v: str) -> str:
        return _abs(v).rstrip("/")

    @field_validator("inbox_dir", "output_dir", "spark_jars_dir", "downloads_file", "sources_dir", mode="after")
    @classmethod
    def _paths(cls, v: str) -> str:
        return _abs(v)

    @field_validator("outcome_window_months", mode="before")
    @classmethod
    def _window(cls, v: Any) -> Any:
        """``"5-9"`` -> (5, 9)."""
        if isinstance(v, str):
            parts = v.replace(" ", "").split("-")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise ValueError(f"expected first-last months, e.g. 5-9, got {v!r}")
            v = (int(parts[0]), int(parts[1]))
        return v

    @field_validator("outcome_window_months", mode="after")
    @classmethod
    def _window_ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] > v[1]:
            raise ValueError(f"the window's first month {v[0]} is after its last {v[1]}")
        return v

    @field_validator("freshness_max_days", mode="before")
    @classmethod
    def _freshness(cls, v: Any) -> Any:
        return _per_source(v)

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of this process's environment; a bad value raises naming the ``OBS_`` variable."""
        try:
            return cls()
        except ValidationError as exc:
            problems = "; ".join(f"OBS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"invalid settings: {problems}") from None

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (validated like the environment's)."""
        return type(self).model_validate({**self.model_dump(), **changes})

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
        return self.freshness_max_days.get(source, self.freshness_default_max_days)

    def zone_uri(self, zone: str) -> str:
        return f"{self.lake_uri}/{zone}"

