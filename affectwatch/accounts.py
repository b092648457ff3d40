"""Accounts: roles, password hashing, validation, the rules that keep one administrator, and signing in.

Shared by the dashboard and the command line (`affectwatch user ...`), so that both apply one set of rules.

Passwords are hashed with werkzeug's scrypt. A sign-in session is a random token: the browser's
signed cookie holds it and the database only its SHA-256, so sessions can be ended from the server
(signing out, an account disabled or its password changed). Repeated failed sign-ins for one name from
one address, or for any names from one address, make that address's next attempt wait, doubling each
time; another address is not slowed (so nobody can keep a carer out from elsewhere), and a success
clears only its own address's failures. One address's attempts are checked and counted in turn, under
a database lock, so parallel guesses cannot slip past the count. Every sign-in, and every refused one,
is written to the audit log.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import psycopg
from werkzeug.security import check_password_hash, generate_password_hash

from affectwatch.exceptions import AuthError, FieldErrors, ThrottledError
from affectwatch.queries import users as q

log = logging.getLogger(__name__)

ROLES: tuple[str, ...] = ("admin", "staff", "analyst")  # what each may do in the dashboard: dashboard/roles.py

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 10
FAILURE_WINDOW = timedelta(minutes=15)
LONGEST_WAIT = 300
ADDRESS_FACTOR = 4  # an address (a shared nurses' station) may fail this many times more, over all names
BAD_SIGN_IN = "Unknown user name or wrong password."
DEFAULT_METHOD = "scrypt"


@dataclass(frozen=True)
class SignInPolicy:
    max_failures: int
    idle: timedelta
    max_age: timedelta
    hash_method: str = DEFAULT_METHOD


def hash_password(password: str, method: str = DEFAULT_METHOD) -> str:
    return generate_password_hash(password, method=method)


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    """Checked against when the name is unknown, so that both answers take as long."""
    return hash_password("affectwatch-timing-equaliser", method)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"must have at least {MIN_PASSWORD} characters"
    if len(password) > 200:
        return "must have at most 200 characters"
    return None


def validate_account(values: dict[str, Any], new: bool) -> dict[str, Any]:
    """Check the fields given (all of username, password, role for a new account); raise FieldErrors."""
    errors: dict[str, str] = {}
    if (new or "username" in values) and not USERNAME.match(str(values.get("username", ""))):
        errors["username"] = "1-64 letters, digits or _ . @ -, starting with a letter or digit"
    if new or "password" in values:
        problem = password_problem(str(values.get("password", "")))
        if problem:
            errors["password"] = problem
    if (new or "role" in values) and values.get("role") not in ROLES:
        errors["role"] = f"must be one of {', '.join(ROLES)}"
    if len(str(values.get("display_name", ""))) > 200:
        errors["display_name"] = "must have at most 200 characters"
    if errors:
        raise FieldErrors(errors)
    return values


def create_account(conn: q.Conn, username: str, password: str, role: str, display_name: str = "",
                   method: str = DEFAULT_METHOD) -> int:
    validate_account({"username": username, "password": password, "role": role, "display_name": display_name},
                     new=True)
    try:
        with conn.transaction():
            user_id = q.create_user(conn, username, hash_password(password, method), role, display_name.strip())
    except psycopg.errors.UniqueViolation as exc:
        raise FieldErrors({"username": f"{username!r} is taken"}) from exc
    log.info("created %s account %s (user %d)", role, username, user_id)
    return user_id


def update_account(conn: q.Conn, user_id: int, values: dict[str, Any], acting_user_id: int,
                   method: str = DEFAULT_METHOD) -> None:
    """Change display name, role, active or password; sessions end when access changes."""
    validate_account(values, new=False)
    changes: dict[str, Any] = {k: values[k] for k in ("display_name", "role", "active") if k in values}
    if values.get("password"):
        changes["password_hash"] = hash_password(str(values["password"]), method)
    with conn.transaction():
        before = _existing(conn, user_id)
        q.update_user(conn, user_id, changes)
        _keep_an_admin(conn, user_id == acting_user_id and before["role"] == "admin"
                       and (changes.get("role", "admin") != "admin" or changes.get("active") is False))
        if {"role", "active", "password_hash"} & changes.keys():
            q.delete_user_sessions(conn, user_id)
    log.info("user %d updated %s by user %d", user_id, sorted(changes), acting_user_id)


def remove_account(conn: q.Conn, user_id: int, acting_user_id: int) -> None:
    if user_id == acting_user_id:
        raise FieldErrors({"user": "you cannot remove your own account"})
    with conn.transaction():
        _existing(conn, user_id)
        q.delete_user(conn, user_id)
        _keep_an_admin(conn, False)
    log.info("user %d removed by user %d", user_id, acting_user_id)


def _existing(conn: q.Conn, user_id: int) -> q.Row:
    from affectwatch.exceptions import NotFoundError

    user = q.get_user(conn, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    return user


def _keep_an_admin(conn: q.Conn, demoting_self: bool) -> None:
    """Refuse (rolling back) a change that leaves no active administrator or demotes the acting one."""
    if demoting_self:
        raise FieldErrors({"role": "you cannot take administrator rights from your own account"})
    if q.count_active_admins(conn) == 0:
        raise FieldErrors({"role": "at least one active administrator must remain"})


def throttle_wait(conn: q.Conn, username: str, remote_addr: str, now: datetime, max_failures: int) -> int:
    """Seconds to wait before this name may be tried again from this address (0: now)."""
    seen = q.recent_failures(conn, username, remote_addr, now - FAILURE_WINDOW)
    waits = [_wait(int(seen["by_name"]), seen["last_by_name"], max_failures, now),
             _wait(int(seen["by_addr"]), seen["last_by_addr"], max_failures * ADDRESS_FACTOR, now)]
    return max(waits)


def _wait(failures: int, last: datetime | None, limit: int, now: datetime) -> int:
    if last is None or failures < limit:
        return 0
    delay = min(2 ** (failures - limit + 1), LONGEST_WAIT)
    return max(0, int((last + timedelta(seconds=delay) - now).total_seconds() + 0.999))


def sign_in(conn: q.Conn, username: str, password: str, remote_addr: str, now: datetime,
            policy: SignInPolicy) -> q.Row:
    """The account for these credentials; AuthError when wrong, ThrottledError when tried too often."""
    from affectwatch import audit

    with conn.transaction():  # the address's lock is held until the failure or success is written
        q.lock_sign_in(conn, remote_addr)
        wait = throttle_wait(conn, username, remote_addr, now, policy.max_failures)
        user = None if wait else q.credentials(conn, username)
        ok = not wait and check_password_hash(user["password_hash"] if user else _dummy_hash(policy.hash_method),
                                              password)
        outcome = _outcome(wait, user, ok)
        user_id = None if user is None else int(user["id"])
        audit.record_sign_in(conn, username, user_id, remote_addr, outcome)
        if outcome == "ok":
            q.clear_failures(conn, username, remote_addr)
            q.mark_login(conn, int(user_id or 0), now)
        elif not wait:
            q.record_failure(conn, username, remote_addr, now)
    if wait:
        log.warning("sign-in for %r from %s throttled for %d s", username[:64], remote_addr, wait)
        raise ThrottledError(f"Too many failed sign-ins. Try again in {wait} seconds.", wait)
    if outcome != "ok" or user is None:
        log.warning("failed sign-in for %r from %s (%s)", username[:64], remote_addr, outcome)
        raise AuthError(BAD_SIGN_IN)
    log.info("user %d (%s) signed in from %s", user["id"], user["username"], remote_addr)
    return {k: v for k, v in user.items() if k != "password_hash"}


def _outcome(wait: int, user: q.Row | None, password_ok: bool) -> str:
    """What the audit log says of an attempt: ok, or why it was refused."""
    if wait:
        return f"throttled ({wait} s)"
    if user is None:
        return "unknown name"
    if not password_ok:
        return "wrong password"
    return "ok" if user["active"] else "account disabled"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def open_session(conn: q.Conn, user_id: int, remote_addr: str, user_agent: str, now: datetime,
                 policy: SignInPolicy) -> str:
    token = secrets.token_urlsafe(32)
    q.create_session(conn, token_hash(token), user_id, now, now + policy.max_age, remote_addr, user_agent)
    q.purge_sessions(conn, now, now - policy.idle)
    q.purge_failures(conn, now - FAILURE_WINDOW)
    return token


def session_user(conn: q.Conn, token: str, now: datetime, policy: SignInPolicy) -> q.Row | None:
    return q.session_user(conn, token_hash(token), now, now - policy.idle)


def touch(conn: q.Conn, token: str, now: datetime) -> None:
    q.touch_session(conn, token_hash(token), now)


def close_session(conn: q.Conn, token: str) -> None:
    q.delete_session(conn, token_hash(token))
