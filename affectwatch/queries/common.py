"""Helpers the query modules share: partial UPDATEs and turning constraint violations into messages."""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg import errors, sql

from affectwatch.exceptions import AffectWatchError, NotFoundError, ValidationError


def set_clause(changes: Mapping[str, object]) -> sql.Composed:
    """`col = %(col)s, ..., updated_at = now()` for the given columns (names are identifiers, never text)."""
    parts = [sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changes]
    return sql.SQL(", ").join([*parts, sql.SQL("updated_at = now()")])


def integrity_error(exc: psycopg.IntegrityError, what: str) -> AffectWatchError:
    """A person-readable error for a violated constraint on `what` (a camera, a resident)."""
    diag = exc.diag
    if isinstance(exc, errors.UniqueViolation):
        return ValidationError(f"another {what} already has this value ({diag.message_detail or diag.constraint_name})")
    if isinstance(exc, errors.ForeignKeyViolation):
        return NotFoundError(f"{what} refers to a record that does not exist ({diag.message_detail})")
    return ValidationError(f"{what} rejected by the database: {diag.message_primary} ({diag.constraint_name})")
