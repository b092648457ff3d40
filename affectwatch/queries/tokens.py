"""API tokens (migrations/0012_api_tokens.sql): made, listed, looked up by their hash, revoked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Token:
    id: int
    user_id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


COLUMNS = ("t.id, t.user_id, u.username, t.name, t.prefix, t.created_at, t.expires_at, t.last_used_at,"
           " t.revoked_at")


def create_token(conn: Conn, user_id: int, name: str, token_hash: bytes, prefix: str, at: datetime,
                 expires_at: datetime | None) -> int:
    row = conn.execute(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (user_id, name, token_hash, prefix, at, expires_at)).fetchone()
    assert row is not None
    return int(row[0] if isinstance(row, tuple) else row["id"])


def get_token(conn: Conn, token_id: int) -> Token | None:
    cur = conn.cursor(row_factory=class_row(Token))
    return cur.execute(f"SELECT {COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = %s",
                       (token_id,)).fetchone()


def list_tokens(conn: Conn, user_id: int | None = None) -> list[Token]:
    """Tokens, newest first: one user's, or everyone's (user_id None)."""
    cur = conn.cursor(row_factory=class_row(Token))
    return list(cur.execute(
        f"SELECT {COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE %(user)s::bigint IS NULL OR t.user_id = %(user)s ORDER BY t.id DESC", {"user": user_id}))


TOKEN_USER = """
SELECT t.id AS token_id, t.last_used_at AS token_last_used_at,
       u.id, u.username, u.display_name, u.role, u.active, u.last_login_at, u.created_at, u.updated_at
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = %(hash)s AND t.revoked_at IS NULL AND u.active
  AND (t.expires_at IS NULL OR t.expires_at > %(now)s)
"""


def token_user(conn: Conn, token_hash: bytes, now: datetime) -> dict[str, Any] | None:
    """The active user of a live (not revoked, not expired) token, with token_id; None otherwise."""
    row: dict[str, Any] | None = conn.cursor(row_factory=dict_row).execute(
        TOKEN_USER, {"hash": token_hash, "now": now}).fetchone()
    return row


def mark_used(conn: Conn, token_id: int, at: datetime) -> None:
    conn.execute("UPDATE api_tokens SET last_used_at = %s WHERE id = %s", (at, token_id))


def revoke_token(conn: Conn, token_id: int, at: datetime) -> bool:
    """Revoke a live token; False when there is no such token or it was revoked already."""
    return conn.execute("UPDATE api_tokens SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                        (at, token_id)).rowcount == 1
