"""A resident's usual negative share (their baseline), so that a resting face that reads as sad does
not alert all day. Taken over the last alert_baseline_days before the current window, kept in
alert_baselines and recomputed once an hour by the sweep (by the rule when missing or two hours old)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from affectwatch.alerts.rule import Rule, scoring
from affectwatch.config import Config
from affectwatch.queries import alerts as q

REFRESH = timedelta(hours=1)


def baseline_share(conn: psycopg.Connection[Any], config: Config, resident_id: int, rule: Rule,
                   now: datetime) -> float | None:
    """The resident's baseline share, or None when they have too few faces for one to mean anything.

    Recomputed here only when missing or twice as old as the sweep lets it get, so that workers
    seldom pay for the scan of a week of faces."""
    row = q.get_baseline(conn, resident_id)
    if row is None or now - row["computed_at"] >= 2 * REFRESH or now < row["computed_at"]:
        row = refresh(conn, config, resident_id, rule, now)
    return float(row["negative_share"]) if int(row["n_faces"]) >= config.alert_baseline_min_faces else None


def refresh(conn: psycopg.Connection[Any], config: Config, resident_id: int, rule: Rule,
            now: datetime) -> dict[str, Any]:
    end = now - rule.window
    start = end - timedelta(days=config.alert_baseline_days)
    return q.compute_baseline(conn, resident_id, start, end, scoring(config), now)
