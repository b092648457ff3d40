"""Postgres connections (psycopg 3). One place that opens them, so every process connects alike.

The dashboard (a connection per request) and the worker (one per job) take theirs from a pool
(`pooled`): connections kept open and reused, each checked with an empty query before it is handed
out, so one broken by a Postgres restart or a terminated session is replaced, not used. A request
or job that gets no working connection within POOL_TIMEOUT seconds fails with DatabaseUnavailable.
`AFFECTWATCH_DATABASE_POOL=false` opens a new connection for each instead. Commands and the other
processes connect once per run (`connect`, `transaction`).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from affectwatch.config import Config
from affectwatch.exceptions import DatabaseUnavailable

logging.getLogger("psycopg.pool").setLevel(logging.WARNING)  # not two INFO lines per request and per job
POOL_TIMEOUT = 5.0  # seconds a request or job waits for a working pooled connection
POOL_RECONNECT_SECONDS = 60.0  # a pool gives up reconnecting in the background after this; the next use tries again


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


class Connections:
    """Where a process's request or job connections (autocommit) come from: a pool, or new ones."""

    def __init__(self, config: Config, purpose: str, max_size: int) -> None:
        self.config = config
        self.purpose = purpose
        self.pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] | None = None
        if config.database_pool:
            self.pool = ConnectionPool[psycopg.Connection[dict[str, Any]]](
                config.database_url, open=True, min_size=1, max_size=max(1, max_size), timeout=POOL_TIMEOUT,
                name=f"affectwatch-{purpose}", check=ConnectionPool.check_connection,
                reconnect_timeout=POOL_RECONNECT_SECONDS,
                kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": 10,
                        "application_name": f"affectwatch-{purpose}"})

    def get(self) -> psycopg.Connection[dict[str, Any]]:
        """A working connection; give it back with put()."""
        if self.pool is None:
            return connect(self.config, autocommit=True)
        try:
            return self.pool.getconn()
        except PoolTimeout as exc:
            raise DatabaseUnavailable(f"cannot connect to Postgres at {_safe(self.config.database_url)}: no working "
                                      f"connection within {POOL_TIMEOUT:g} s (the log says why)") from exc

    def put(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        """Back to the pool (rolled back if a transaction was left open; discarded if broken), or closed."""
        if self.pool is None:
            conn.close()
        else:
            self.pool.putconn(conn)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        conn = self.get()
        try:
            yield conn
        finally:
            self.put(conn)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


_sources: dict[tuple[str, str, bool, int], Connections] = {}
_sources_lock = threading.Lock()


def pooled(config: Config, purpose: str, max_size: int = 1) -> Connections:
    """This process's connections for `purpose` ("dashboard", "worker") to config's database, made once."""
    key = (purpose, config.database_url, config.database_pool, max_size)
    with _sources_lock:
        found = _sources.get(key)
        if found is None:
            found = _sources[key] = Connections(config, purpose, max_size)
        return found


@atexit.register
def close_pools() -> None:
    """Close every pool of this process (their connections and threads)."""
    with _sources_lock:
        sources = list(_sources.values())
        _sources.clear()
    for source in sources:
        source.close()


def _safe(url: str) -> str:
    """The URL without its password, fit for a log line."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
