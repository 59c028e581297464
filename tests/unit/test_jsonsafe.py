import json
import math

from jobs.core.jsonsafe import json_safe


def test_stage_reports_become_strict_json():
    """Airflow refuses a task's result holding NaN or infinity (``Out of range float values``)."""
    report = {"narrowest": {"ratio": math.inf}, "rates": [0.5, float("nan")], "n": 3, "ok": True, "t": ("a", -math.inf)}
    assert json.dumps(json_safe(report), allow_nan=False) == (
        '{"narrowest": {"ratio": null}, "rates": [0.5, null], "n": 3, "ok": true, "t": ["a", null]}')
