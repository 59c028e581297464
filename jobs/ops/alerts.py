"""Failure alerts of the Airflow tasks: a JSON line in ``<output>/alerts/alerts.jsonl``, and a mail when
SMTP and a recipient are configured (``OBS_ALERT_EMAIL``, ``OBS_SMTP_*``).

The record is written first, so an alert is never lost because the mail server is down.
"""

from __future__ import annotations

import json
import logging
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from jobs.core.settings import Settings

log = logging.getLogger(__name__)


def alert_from_context(context: dict, now: datetime | None = None) -> dict:
    """The fields of an alert, from an Airflow task context (dag, task, run, try, exception, time)."""
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    return {
        "dag_id": getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": context.get("run_id") or getattr(ti, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "exception": f"{type(exception).__name__}: {exception}" if exception is not None else None,
        "time": (now or datetime.now(UTC)).replace(microsecond=0).isoformat(),
    }


def alerts_file(settings: Settings) -> Path:
    return Path(settings.output_dir) / "alerts" / "alerts.jsonl"


def record_alert(alert: dict, settings: Settings) -> Path:
    path = alerts_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(alert, ensure_ascii=False, default=str) + "\n")
    return path


def alert_message(alert: dict, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[observatoire] échec {alert['dag_id']}.{alert['task_id']} ({alert['run_id']})"
    msg["From"] = settings.smtp_from
    msg["To"] = settings.alert_email
    msg.set_content("\n".join(f"{k}: {v}" for k, v in alert.items()))
    return msg


def send_alert_mail(alert: dict, settings: Settings) -> bool:
    """Mail the alert when a recipient and an SMTP host are configured; returns whether a mail was sent."""
    if not (settings.alert_email and settings.smtp_host):
        return False
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(alert_message(alert, settings))
    return True


def on_failure(context: dict) -> None:
    """Airflow ``on_failure_callback``: record the alert, then mail it (a mail error is logged, not raised)."""
    settings = Settings.from_env()
    alert = alert_from_context(context)
    record_alert(alert, settings)
    try:
        send_alert_mail(alert, settings)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("alert mail not sent: %s", exc)
