"""API tokens: a user's credential for scripts and integrations, sent as `Authorization: Bearer aw_...`.

A token is 32 random bytes (URL-safe base64) after the marker `aw_`; it is shown once when made and
only its SHA-256 is stored (a random secret of this length needs no slow hash), with its first
characters as a prefix by which a person can tell tokens apart. A token acts as its user with the
user's current role (a role change applies to it at once), and stops working when it is revoked, when
it expires, or when the user is disabled or removed. Made and revoked from the dashboard (/tokens,
/api/v1/tokens) and the command line (`affectwatch token create|list|revoke`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from affectwatch.exceptions import FieldErrors, NotFoundError
from affectwatch.queries import tokens as q
from affectwatch.queries.tokens import Token

log = logging.getLogger(__name__)

MARKER = "aw_"
PREFIX_CHARS = 10
MAX_DAYS = 3650
USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def check(name: str, days: int | None) -> None:
    errors: dict[str, str] = {}
    if not 1 <= len(name.strip()) <= 100:
        errors["name"] = "give the token a name of 1-100 characters (what or who uses it)"
    if days is not None and not 1 <= days <= MAX_DAYS:
        errors["expires_in_days"] = f"must lie between 1 and {MAX_DAYS} days (or be left out: no expiry)"
    if errors:
        raise FieldErrors(errors)


def create(conn: q.Conn, user_id: int, name: str, now: datetime, days: int | None = None) -> tuple[str, Token]:
    """Make a token for the user; (the secret, to be shown once, and the stored token)."""
    check(name, days)
    secret = MARKER + secrets.token_urlsafe(32)
    expires = now + timedelta(days=days) if days else None
    token_id = q.create_token(conn, user_id, name.strip(), digest(secret), secret[:PREFIX_CHARS], now, expires)
    token = q.get_token(conn, token_id)
    assert token is not None
    log.info("API token %d (%s) made for user %d", token.id, token.name, user_id)
    return secret, token


def authenticate(conn: q.Conn, secret: str, now: datetime) -> dict[str, Any] | None:
    """The user (with token_id) a live token belongs to; None for an unknown, revoked or expired one."""
    if not secret.startswith(MARKER) or len(secret) > 200:
        return None
    user = q.token_user(conn, digest(secret), now)
    if user is None:
        return None
    last = user.pop("token_last_used_at")
    if last is None or now - last >= USED_EVERY:
        q.mark_used(conn, int(user["token_id"]), now)
    return user


def revoke(conn: q.Conn, token_id: int, now: datetime, owner_id: int | None = None) -> Token:
    """Revoke a token (only one of owner_id's when given); NotFoundError when there is none to revoke."""
    token = q.get_token(conn, token_id)
    if token is None or (owner_id is not None and token.user_id != owner_id):
        raise NotFoundError(f"no API token {token_id}")
    if token.revoked_at is None:
        q.revoke_token(conn, token_id, now)
        log.info("API token %d (%s) of user %d revoked", token.id, token.name, token.user_id)
    found = q.get_token(conn, token_id)
    assert found is not None
    return found


def listing(conn: q.Conn, user_id: int | None = None) -> list[Token]:
    return q.list_tokens(conn, user_id)


def state(token: Token, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"
