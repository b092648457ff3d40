"""Who looked at, exported or erased which resident's data, and who changed what: one audit_log row each.

    audit.record(conn, audit.request_actor(), "view", resident_id, "history")   # in a dashboard view
    audit.record(conn, audit.cli_actor(), "erase", resident_id)                  # in a command
    audit.bind(conn, audit.cli_actor())      # changes made on conn are logged as this actor's

Actions on a resident's data: view (a resident's history, as a page or JSON), export (CSV), erase (a
resident erased), enrol and unenrol (face templates taken or removed, worker.enrolment), snapshot (an
alert's face-crop snapshot looked at). Administrative changes (accounts,
cameras, residents, their thresholds and pauses, site settings) are logged by the database's triggers
(migrations/0011_audit_admin.sql) as the actor `bind` declared on the connection; sign-ins by
record_sign_in. The log keeps ids and account names, never a resident's name, and survives the erasure
of the resident it is about (docs/privacy.md).
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import ValidationError
from affectwatch.queries import audit as q

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acted: a dashboard account (its name and id) or a command-line user (cli:<login>)."""

    name: str
    user_id: int | None = None
    remote_addr: str = ""


def record(conn: q.Conn, actor: Actor, action: str, resident_id: int, what: str = "") -> int:
    """Append one entry (committed with the caller's transaction, or at once in autocommit); its id."""
    if action not in q.ACTIONS:
        raise ValidationError(f"audit action {action!r} is not one of {', '.join(q.ACTIONS)}")
    entry = q.insert_entry(conn, {"actor": actor.name[:200] or "?", "actor_user_id": actor.user_id,
                                  "action": action, "subject_kind": "resident", "subject_id": resident_id,
                                  "what": what[:500], "remote_addr": actor.remote_addr[:100]})
    log.info("audit %d: %s %s resident %d %s", entry, actor.name, action, resident_id, what)
    return entry


def bind(conn: q.Conn, actor: Actor) -> None:
    """Declare the actor of the changes made on this connection from now on (the audit triggers read it)."""
    q.bind_actor(conn, actor.name[:200] or "?", actor.user_id, actor.remote_addr[:100])


def record_sign_in(conn: q.Conn, username: str, user_id: int | None, remote_addr: str, outcome: str) -> int:
    """A sign-in: outcome "ok" (action sign-in) or why it failed (action sign-in-failed, the reason as `what`)."""
    action = "sign-in" if outcome == "ok" else "sign-in-failed"
    entry = q.insert_entry(conn, {"actor": username[:200] or "?", "actor_user_id": user_id, "action": action,
                                  "subject_kind": "user", "subject_id": user_id,
                                  "what": "" if outcome == "ok" else outcome[:500], "remote_addr": remote_addr[:100]})
    return entry


@contextmanager
def cli_transaction(config: Config) -> Iterator[psycopg.Connection[Any]]:
    """affectwatch.db.transaction, its changes logged as the command-line user's."""
    with transaction(config) as conn:
        bind(conn, cli_actor())
        yield conn


def cli_actor() -> Actor:
    """The operating-system user running a command."""
    try:
        return Actor(f"cli:{getpass.getuser()}")
    except (KeyError, OSError):  # no passwd entry (some containers)
        return Actor("cli:unknown")


def request_actor() -> Actor:
    """The signed-in dashboard account of the current request (Flask's g.user), with its address."""
    from flask import g, request

    user = g.get("user") or {}
    return Actor(str(user.get("username", "anonymous")), user.get("id"), request.remote_addr or "unknown")
