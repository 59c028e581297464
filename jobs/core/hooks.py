"""Seams where the reliability tests inject faults; nothing is installed in production, so each is a no-op.

``tests/integration/reliability/faults.py`` installs a write stall (a window between a Delta write's first data file and
its commit) and a barrier (two processes' stages start together); the production code only calls these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_write_hooks: list[Callable[[DataFrame], DataFrame]] = []
_stage_hooks: list[Callable[[str], None]] = []


def on_write(hook: Callable[[DataFrame], DataFrame]) -> None:
    _write_hooks.append(hook)


def on_stage(hook: Callable[[str], None]) -> None:
    _stage_hooks.append(hook)


def before_write(df: DataFrame) -> DataFrame:
    """The frame a Delta write commits (the hooks may wrap it)."""
    for hook in _write_hooks:
        df = hook(df)
    return df


def before_stage(stage: str) -> None:
    """Called before a stage takes its writer lock."""
    for hook in _stage_hooks:
        hook(stage)
