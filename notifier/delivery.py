"""The delivery job: send one alert change to one webhook or by email, and record how it went.

`deliver(delivery_id)` runs on the alert queue (`affectwatch alerts deliver`). Every attempt is
recorded on the delivery row (attempts, state, HTTP status, reason) and as an alert event
('delivered' or 'delivery_failed', with the reason). A failed attempt raises DeliveryError so that
RQ retries the job with back-off; after the last attempt the delivery is 'failed' and the job stays
in the failed-job registry. A delivery already delivered, or being sent by another job, is skipped.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg

from affectwatch import logs
from affectwatch.alerts import telemetry
from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.exceptions import DeliveryError
from affectwatch.queries import alerts as q
from notifier import message

log = logging.getLogger(__name__)
Conn = psycopg.Connection[Any]

_config: Config | None = None


def install(config: Config | None) -> None:
    """The configuration delivery jobs in this process use (the delivery worker installs its own)."""
    global _config
    _config = config


def installed() -> Config:
    return _config if _config is not None else Config.from_env()


@dataclass(frozen=True)
class Attempt:
    """How sending went: the HTTP status (webhooks) and the reason it failed, None when it did not."""

    status: int | None = None
    error: str | None = None


def deliver(delivery_id: int) -> dict[str, Any]:
    """The RQ job: one attempt at one delivery."""
    config = installed()
    with logs.fields(delivery_id=int(delivery_id)), connect(config) as conn:
        result = attempt(conn, config, int(delivery_id))
    if result.get("error"):
        raise DeliveryError(f"delivery {delivery_id}: {result['error']}")
    return result


def attempt(conn: Conn, config: Config, delivery_id: int) -> dict[str, Any]:
    with conn.transaction():
        d = q.lock_delivery(conn, delivery_id)
        if d is None or d.state in ("delivered", "failed"):
            return {"delivery": delivery_id, "skipped": d.state if d else "locked or gone"}
        alert, event = q.get_alert(conn, d.alert_id), q.get_event(conn, d.event_id)
        sent = send(conn, config, d, alert, event)
        state = "delivered" if sent.error is None else "failed" if d.attempts + 1 >= d.max_attempts else "retrying"
        q.record_attempt(conn, d.id, state, sent.status, sent.error)
        q.add_event(conn, alert.id, "delivered" if sent.error is None else "delivery_failed",
                    note=sent.error or "", details=_details(d, sent, state))
    _log(d, sent, state)
    telemetry.DELIVERIES.labels(d.channel, state).inc()
    return {"delivery": d.id, "state": state, "status": sent.status, "error": sent.error}


def _details(d: q.Delivery, sent: Attempt, state: str) -> dict[str, Any]:
    return {"delivery_id": d.id, "event_id": d.event_id, "channel": d.channel, "to": redact(d),
            "attempt": d.attempts + 1, "of": d.max_attempts, "status": sent.status, "state": state}


def _log(d: q.Delivery, sent: Attempt, state: str) -> None:
    if sent.error is None:
        log.info("alert %s: delivery %s (%s to %s) delivered", d.alert_id, d.id, d.channel, redact(d))
    else:
        log.warning("alert %s: delivery %s (%s to %s) attempt %d of %d failed (%s): %s", d.alert_id, d.id,
                    d.channel, redact(d), d.attempts + 1, d.max_attempts, state, sent.error)


def redact(d: q.Delivery) -> str:
    """Where a delivery goes, fit for events and logs: a webhook's scheme and host only (paths hold tokens)."""
    if d.channel != "webhook":
        return d.target
    parts = urlsplit(d.target)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def send(conn: Conn, config: Config, d: q.Delivery, alert: q.Alert, event: q.AlertEvent) -> Attempt:
    if d.channel == "email":
        return send_email(config, alert, event, d.target)
    secret = _secret(conn, config, d)
    if secret is None:
        return Attempt(error="the webhook was removed and its URL is no longer configured")
    return post(config, d.target, secret, message.body(config, alert, event), event.kind, d.id)


def _secret(conn: Conn, config: Config, d: q.Delivery) -> str | None:
    if d.webhook_id is not None:
        hook = q.get_webhook(conn, d.webhook_id)
        if hook is not None:
            return hook.secret
    return config.alert_webhook_secret if d.target in config.alert_webhook_urls else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is a failure (a POST must not silently become a GET elsewhere)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(config: Config, url: str, secret: str, body: bytes, event: str, delivery_id: int) -> Attempt:
    """POST the signed JSON; any 2xx answer is delivered."""
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "User-Agent": "AffectWatch-Alerts/1",
               "X-AffectWatch-Event": event, "X-AffectWatch-Delivery": str(delivery_id),
               "X-AffectWatch-Timestamp": stamp, "X-AffectWatch-Signature": message.signature(secret, stamp, body)}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=config.alert_webhook_timeout) as response:
            return Attempt(status=int(response.status))
    except urllib.error.HTTPError as exc:
        return Attempt(status=exc.code, error=f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return Attempt(error=f"cannot reach the webhook: {reason}")


def send_email(config: Config, alert: q.Alert, event: q.AlertEvent, recipients: str) -> Attempt:
    msg = message.email(config, alert, event, recipients)
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.alert_webhook_timeout) as smtp:
            if config.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.smtp_user:
                smtp.login(config.smtp_user, config.smtp_password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        return Attempt(error=f"email to {recipients} failed: {exc}")
    return Attempt()
