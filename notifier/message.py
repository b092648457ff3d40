"""What an alert change says: the webhook's JSON body and signature, and the email.

Webhook requests carry `X-AffectWatch-Signature: sha256=HEX`, the HMAC-SHA256 of
`TIMESTAMP.BODY` keyed with the webhook's secret, where TIMESTAMP is the `X-AffectWatch-Timestamp`
header (Unix seconds): a receiver recomputes it, compares in constant time and refuses old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from affectwatch.config import Config
from affectwatch.queries.alerts import Alert, AlertEvent

ALERT_FIELDS = ("id", "kind", "state", "window_start", "window_end", "n_faces", "negative_share", "threshold",
                "baseline_share", "dominant_expression", "peak_share", "peak_at", "opened_at", "acknowledged_at",
                "acknowledged_by", "resolved_at", "resolve_reason")


def link(config: Config, alert_id: int) -> str:
    return f"{config.dashboard_url.rstrip('/')}/alerts/{alert_id}"


def payload(config: Config, alert: Alert, event: AlertEvent) -> dict[str, Any]:
    """The JSON document posted to webhooks for one change of an alert."""
    body = {k: _json(getattr(alert, k)) for k in ALERT_FIELDS}
    body["resident"] = None if alert.resident_id is None else {
        "id": alert.resident_id, "name": alert.resident_name, "room": alert.resident_room}
    body["camera"] = None if alert.camera_id is None else {"id": alert.camera_id, "name": alert.camera_name}
    body["url"] = link(config, alert.id)
    return {"event": event.kind, "event_id": event.id, "at": event.at.isoformat(), "actor": event.actor,
            "note": event.note, "summary": summary(alert), "alert": body}


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return round(value, 4) if isinstance(value, float) else value


def body(config: Config, alert: Alert, event: AlertEvent) -> bytes:
    return json.dumps(payload(config, alert, event), separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: str, data: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + data, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def summary(alert: Alert) -> str:
    """One line a person reads first."""
    who = alert.resident_name or f"resident {alert.resident_id}"
    if alert.kind == "camera_offline":
        return f"Camera {alert.camera_name or alert.camera_id} ({who}) sends no frames since {_hm(alert.window_start)}"
    share = f"{(alert.negative_share or 0):.0%}"
    looks = alert.dominant_expression or "negative"
    minutes = (alert.window_end - alert.window_start).total_seconds() / 60
    return f"{who} looked {looks}: {share} of {alert.n_faces} faces in {minutes:g} min to {_hm(alert.window_end)}"


def _hm(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M %Z")


def email(config: Config, alert: Alert, event: AlertEvent, recipients: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[AffectWatch] {event.kind}: {summary(alert)}"
    msg["From"] = config.smtp_from
    msg["To"] = recipients
    lines = [summary(alert), "", f"Alert {alert.id} ({alert.kind}) is {alert.state}.",
             *(f"{k.replace('_', ' ')}: {_json(getattr(alert, k))}" for k in ALERT_FIELDS[3:]
               if getattr(alert, k) is not None),
             "", f"Open it in the dashboard: {link(config, alert.id)}"]
    msg.set_content("\n".join(lines) + "\n")
    return msg
