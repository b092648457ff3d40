"""Postgres connections (psycopg 3). One place that opens them, so every process connects alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

from affectwatch.config import Config
from affectwatch.exceptions import DatabaseUnavailable


def connect(config: Config, autocommit: bool = False) -> psycopg.Connection[dict[str, object]]:
    try:
        return psycopg.connect(config.database_url, autocommit=autocommit, row_factory=dict_row,
                               connect_timeout=10, application_name="affectwatch")
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to Postgres at {_safe(config.database_url)}: {exc}") from exc


@contextmanager
def transaction(config: Config) -> Iterator[psycopg.Connection[dict[str, object]]]:
    """A connection whose work commits on success and rolls back on any error."""
    with connect(config) as conn, conn.transaction():
        yield conn


def _safe(url: str) -> str:
    """The URL without its password, fit for a log line."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
