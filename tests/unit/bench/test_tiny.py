"""The tiny-inbox benchmark reads each stage's seconds from the pipeline's progress lines."""

from __future__ import annotations

from bench.tiny import stage_seconds

PROGRESS = """23:00:15 ▶ bronze_decp
23:00:30 ✓ bronze_decp in 15.7 s — 38 rows written, 1 quarantined
23:00:41 ✓ land facilitateurs in 0.0 s — 32 files landed
23:00:41 … silver_sources running for 20 s
23:01:04 ✓ silver_marches in 0.0 s — skipped: inputs unchanged since run tiny_1
23:02:13 ✓ gold_indicators in 29.3 s — 487 rows written, 0 quarantined
23:00:30 ✓ bronze_decp in 1.2 s
"""


def test_stage_seconds_are_summed_per_stage_and_skips_listed():
    assert stage_seconds(PROGRESS) == {
        "stages_s": {"bronze_decp": 16.9, "land facilitateurs": 0.0, "silver_marches": 0.0, "gold_indicators": 29.3},
        "skipped": ["silver_marches"]}
