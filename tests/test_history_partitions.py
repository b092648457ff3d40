"""Monthly partitions made ahead, rows caught by the default partition moved into their month."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from affectwatch.config import Config
from affectwatch.queries import history as q
from tests.historydata import Face, add_camera, add_faces, add_resident
from upkeep import partitions

Conn = psycopg.Connection[Any]


def connect(config: Config) -> Conn:
    return psycopg.connect(config.database_url, autocommit=True, row_factory=dict_row)


def where(conn: Conn, table: str) -> dict[str, int]:
    rows = conn.execute(f"SELECT tableoid::regclass::text AS part, count(*) AS n FROM {table} GROUP BY 1").fetchall()
    return {r["part"]: r["n"] for r in rows}


def test_partitions_are_made_months_ahead(config: Config) -> None:
    with connect(config) as conn:
        created = partitions.ensure_ahead(conn, 2, now=datetime(2041, 6, 20, tzinfo=UTC))
        assert created == 6  # June, July, August 2041, for frames and faces
        assert partitions.ensure_ahead(conn, 2, now=datetime(2041, 6, 20, tzinfo=UTC)) == 0
        bounds = {p.partition: (p.lower_bound, p.upper_bound) for p in q.list_partitions(conn)}
    assert bounds["faces_2041_08"] == (datetime(2041, 8, 1, tzinfo=UTC), datetime(2041, 9, 1, tzinfo=UTC))
    assert "frames_2041_06" in bounds and "faces_2041_09" not in bounds


def test_rows_in_the_default_partition_move_into_their_month(config: Config) -> None:
    with connect(config) as conn:
        cam = add_camera(conn, "hall", "Floor 0", add_resident(conn, "Eve Mor"))
        add_faces(conn, [Face(datetime(2042, 2, 3, 10, tzinfo=UTC), cam, None, "happy"),
                         Face(datetime(2042, 3, 31, 23, 59, tzinfo=UTC), cam, None, "sad")])
        assert where(conn, "faces") == {"faces_default": 2}
        assert partitions.stray_rows(conn) == {"faces": 2, "frames": 2}
        created = q.ensure_partitions(conn, datetime(2042, 3, 1).date(), 1)
        assert created == 4  # March by request, February because the default held its rows; two tables each
        assert where(conn, "faces") == {"faces_2042_02": 1, "faces_2042_03": 1}
        assert where(conn, "frames") == {"frames_2042_02": 1, "frames_2042_03": 1}
        assert partitions.stray_rows(conn) == {"faces": 0, "frames": 0}


def test_a_partition_made_in_another_time_zone_is_not_overlapped(config: Config) -> None:
    with connect(config) as conn:
        conn.execute("SET TimeZone = 'America/New_York'")  # 0001's function used the session's zone
        conn.execute("CREATE TABLE faces_2043_01 PARTITION OF faces FOR VALUES FROM ('2043-01-01') TO ('2043-02-01')")
        conn.execute("SELECT affectwatch_ensure_partitions('2043-02-01', 1)")
        conn.execute("SET TimeZone = 'UTC'")
        part = {p.partition: p for p in q.list_partitions(conn)}["faces_2043_02"]
    assert part.lower_bound == datetime(2043, 2, 1, 5, tzinfo=UTC)  # where January's ends
    assert part.upper_bound == datetime(2043, 3, 1, tzinfo=UTC)


def test_every_partition_has_the_time_index(config: Config) -> None:
    with connect(config) as conn:
        partitions.ensure_ahead(conn, 1)
        parts = [p.partition for p in q.list_partitions(conn)]
        brin = {r["tablename"] for r in conn.execute("SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%%brin%%'")}
    assert set(parts) <= brin


def test_only_the_history_tables_can_be_partitioned(config: Config) -> None:
    with connect(config) as conn, pytest.raises(psycopg.errors.RaiseException, match="not a partitioned"):
        conn.execute("SELECT affectwatch_create_partition('users', '2040-01-01')")
