"""What a request needs from the app: the config, the clock, and the connections kept on `g`.

Each request gets one Postgres connection (autocommit: every query function either stands alone
or opens its own transaction) on first use, from the process's pool (affectwatch.db: as many as the
dashboard has threads, kept open and checked before each use), given back when the request ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import redis
from flask import Flask, current_app, g

from affectwatch.config import Config
from affectwatch.db import Connections, pooled
from affectwatch.queue import redis_connection

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppState:
    config: Config
    clock: Clock
    redis: redis.Redis
    zone: ZoneInfo


def init_app(app: Flask, config: Config, clock: Clock | None) -> None:
    app.extensions["affectwatch"] = AppState(config, clock or utc_now, redis_connection(config),
                                             ZoneInfo(config.timezone))
    app.teardown_appcontext(close_db)


def state() -> AppState:
    found: AppState = current_app.extensions["affectwatch"]
    return found


def config() -> Config:
    return state().config


def now() -> datetime:
    return state().clock()


def zone() -> ZoneInfo:
    return state().zone


def redis_conn() -> redis.Redis:
    return state().redis


def connections() -> Connections:
    return pooled(config(), "dashboard", config().dashboard_threads)


def db() -> psycopg.Connection[Any]:
    if "db" not in g:
        g.db = connections().get()
    conn: psycopg.Connection[Any] = g.db
    return conn


def close_db(exc: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        connections().put(conn)
