"""What every stage receives: the settings, the run's id and start time, and the process's Spark session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from jobs.core.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class RunContext:
    settings: Settings
    run_id: str
    now: datetime = field(default_factory=utc_now)

    @property
    def spark(self) -> SparkSession:
        """The process's one Spark session, started on first use (stages without Spark never start it)."""
        from jobs.core.spark import get_spark

        return get_spark(self.settings)

    @property
    def today(self):
        return self.now.date()
