"""Login roles of the services, each a member of the group role the migrations grant its privileges to."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

Conn = psycopg.Connection[Any]

SERVICES = ("producer", "worker", "dashboard")


def login_name(database: str, service: str) -> str:
    """The service's login on this database: <database>_<service>_login (several databases may share a server)."""
    return f"{database}_{service}_login"


def ensure_login(conn: Conn, name: str, service: str, password: str) -> bool:
    """Create the login (or set its password), a member of affectwatch_<service>; True if it was created."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None
    verb = "ALTER ROLE {} LOGIN PASSWORD {}" if exists else "CREATE ROLE {} LOGIN PASSWORD {}"
    conn.execute(sql.SQL(verb).format(sql.Identifier(name), sql.Literal(password)))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(f"affectwatch_{service}"), sql.Identifier(name)))
    return not exists


def drop_login(conn: Conn, name: str) -> None:
    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
