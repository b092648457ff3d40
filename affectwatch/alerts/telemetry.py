"""Alert metrics: changes to alerts (opened, escalated, acknowledged, resolved, ...) and deliveries.

Alerts open where faces are written (the workers) and where the clock decides (the scheduler's sweep:
recovery, staleness, offline cameras); people acknowledge and resolve them in the dashboard. Each
process counts what it did, after the transaction committed, and serves its own counters (see
affectwatch.telemetry); Prometheus sums them across processes.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter

CHANGES = Counter("affectwatch_alert_changes", "Alert changes committed, by alert kind and change",
                  ["kind", "change"])
DELIVERIES = Counter("affectwatch_alert_deliveries",
                     "Delivery attempts, by channel and outcome (delivered, retrying, failed)", ["channel", "outcome"])


def count_changes(kind: str, changes: Iterable[str]) -> None:
    for change in changes:
        CHANGES.labels(kind, change).inc()
