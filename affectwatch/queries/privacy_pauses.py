"""Whether residents may be recorded at given times: marked monitored and inside no monitoring pause
(the SQL function affectwatch_resident_monitored of migrations/0002_users.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

MONITORED = """
SELECT k.resident_id, k.at, affectwatch_resident_monitored(k.resident_id, k.at) AS monitored
FROM unnest(%s::bigint[], %s::timestamptz[]) AS k (resident_id, at)
"""


def monitored(conn: Conn, keys: list[tuple[int, datetime]]) -> dict[tuple[int, datetime], bool]:
    """For each (resident, time): may they be recorded then?"""
    if not keys:
        return {}
    rows = conn.execute(MONITORED, ([k[0] for k in keys], [k[1] for k in keys])).fetchall()
    return {(int(_get(r, "resident_id", 0)), _get(r, "at", 1)): bool(_get(r, "monitored", 2)) for r in rows}


def _get(row: Any, name: str, index: int) -> Any:
    return row[name] if isinstance(row, dict) else row[index]
