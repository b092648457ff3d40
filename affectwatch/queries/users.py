"""Dashboard accounts, their sign-in sessions and failed sign-ins (tables of migrations/0002_users.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]
Row = dict[str, Any]

USER_COLUMNS = "id, username, display_name, role, active, last_login_at, created_at, updated_at"
EDITABLE = ("display_name", "role", "active", "password_hash")
SIGN_IN_LOCK = 0x5349_474E  # "SIGN": the class of the advisory locks taken per address


def _one(row: Row | None) -> Row:
    assert row is not None, "INSERT ... RETURNING and aggregates return a row"
    return row


def create_user(conn: Conn, username: str, password_hash: str, role: str, display_name: str = "") -> int:
    row = conn.execute(
        "INSERT INTO users (username, password_hash, role, display_name) VALUES (%s, %s, %s, %s) RETURNING id",
        (username, password_hash, role, display_name),
    ).fetchone()
    return int(_one(row)["id"])


def list_users(conn: Conn) -> list[Row]:
    return list(conn.execute(f"SELECT {USER_COLUMNS} FROM users ORDER BY lower(username)").fetchall())


def get_user(conn: Conn, user_id: int) -> Row | None:
    row: Row | None = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", (user_id,)).fetchone()
    return row


def credentials(conn: Conn, username: str) -> Row | None:
    """The account with this name (any case) and its password hash, for signing in."""
    row: Row | None = conn.execute(
        f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE lower(username) = lower(%s)", (username,)
    ).fetchone()
    return row


def update_user(conn: Conn, user_id: int, changes: dict[str, Any]) -> bool:
    """Set the given editable columns; False when no such user."""
    cols = [c for c in EDITABLE if c in changes]
    if not cols:
        return get_user(conn, user_id) is not None
    sets = ", ".join(f"{c} = %({c})s" for c in cols)
    cur = conn.execute(f"UPDATE users SET {sets}, updated_at = now() WHERE id = %(id)s",
                       {**{c: changes[c] for c in cols}, "id": user_id})
    return cur.rowcount == 1


def delete_user(conn: Conn, user_id: int) -> bool:
    return conn.execute("DELETE FROM users WHERE id = %s", (user_id,)).rowcount == 1


def count_active_admins(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM users WHERE role = 'admin' AND active").fetchone()
    return int(_one(row)["n"])


def mark_login(conn: Conn, user_id: int, at: datetime) -> None:
    conn.execute("UPDATE users SET last_login_at = %s WHERE id = %s", (at, user_id))


def create_session(conn: Conn, token_hash: bytes, user_id: int, at: datetime, expires_at: datetime,
                   remote_addr: str, user_agent: str) -> None:
    conn.execute(
        "INSERT INTO user_sessions (token_hash, user_id, created_at, last_seen_at, expires_at, remote_addr,"
        " user_agent) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (token_hash, user_id, at, at, expires_at, remote_addr, user_agent[:500]),
    )


SESSION_USER = f"""
SELECT s.last_seen_at, s.expires_at, {", ".join("u." + c.strip() for c in USER_COLUMNS.split(","))}
FROM user_sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = %(hash)s AND u.active AND s.expires_at > %(now)s AND s.last_seen_at > %(idle_since)s
"""


def session_user(conn: Conn, token_hash: bytes, now: datetime, idle_since: datetime) -> Row | None:
    """The active user of a session neither expired nor idle since `idle_since`, with the session's times."""
    row: Row | None = conn.execute(SESSION_USER, {"hash": token_hash, "now": now, "idle_since": idle_since}).fetchone()
    return row


def touch_session(conn: Conn, token_hash: bytes, at: datetime) -> None:
    conn.execute("UPDATE user_sessions SET last_seen_at = %s WHERE token_hash = %s", (at, token_hash))


def delete_session(conn: Conn, token_hash: bytes) -> None:
    conn.execute("DELETE FROM user_sessions WHERE token_hash = %s", (token_hash,))


def delete_user_sessions(conn: Conn, user_id: int) -> int:
    return conn.execute("DELETE FROM user_sessions WHERE user_id = %s", (user_id,)).rowcount


def purge_sessions(conn: Conn, now: datetime, idle_since: datetime) -> int:
    """Remove expired and idle sessions; the number removed."""
    return conn.execute("DELETE FROM user_sessions WHERE expires_at <= %s OR last_seen_at <= %s",
                        (now, idle_since)).rowcount


def record_failure(conn: Conn, username: str, remote_addr: str, at: datetime) -> None:
    conn.execute("INSERT INTO login_failures (username, remote_addr, failed_at) VALUES (%s, %s, %s)",
                 (username[:200], remote_addr, at))


RECENT_FAILURES = """
SELECT count(*) FILTER (WHERE lower(username) = lower(%(name)s)) AS by_name,
       max(failed_at) FILTER (WHERE lower(username) = lower(%(name)s)) AS last_by_name,
       count(*) AS by_addr,
       max(failed_at) AS last_by_addr
FROM login_failures
WHERE failed_at > %(since)s AND remote_addr = %(addr)s
"""


def recent_failures(conn: Conn, username: str, remote_addr: str, since: datetime) -> Row:
    """Failed sign-ins from this address since `since`: for this name (by_name) and for any (by_addr), with
    the latest time of each. Failures from other addresses do not count against this one."""
    return _one(conn.execute(RECENT_FAILURES, {"name": username, "addr": remote_addr, "since": since}).fetchone())


def lock_sign_in(conn: Conn, remote_addr: str) -> None:
    """Hold, until the transaction ends, the lock that makes one address's sign-ins check and count in turn."""
    conn.execute("SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))", (SIGN_IN_LOCK, remote_addr))


def clear_failures(conn: Conn, username: str, remote_addr: str) -> None:
    """Forget this name's failures from this address (a success there); other addresses' stay counted."""
    conn.execute("DELETE FROM login_failures WHERE lower(username) = lower(%s) AND remote_addr = %s",
                 (username, remote_addr))


def purge_failures(conn: Conn, before: datetime) -> int:
    return conn.execute("DELETE FROM login_failures WHERE failed_at < %s", (before,)).rowcount
