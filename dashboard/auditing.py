"""Each signed-in request declares its account on its database connection, for the audit triggers.

Changes to accounts, cameras, residents and settings are logged by the database (migrations/0011); this
hook, run after the user is loaded, tells it who is acting and from which address.
"""

from __future__ import annotations

from flask import Flask, g

from affectwatch import audit
from dashboard.context import db


def bind_actor() -> None:
    if g.get("user") is not None:
        audit.bind(db(), audit.request_actor())


def init_app(app: Flask) -> None:
    app.before_request(bind_actor)
