"""The AffectWatch dashboard: a Flask app factory with a blueprint per area.

    from dashboard import create_app
    app = create_app()            # settings from AFFECTWATCH_* (see `affectwatch config`)

Served in production by `affectwatch dashboard` (waitress).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask
from flask_wtf import CSRFProtect

from affectwatch.config import Config
from affectwatch.exceptions import ConfigError
from dashboard import auth, context, errors, formatting, security, vendor
from dashboard.access import check_every_view
from dashboard.blueprints import BLUEPRINTS
from dashboard.jsonio import JSONProvider

log = logging.getLogger(__name__)
DEFAULT_SECRET = "dev-insecure-secret-key"
csrf = CSRFProtect()


def create_app(config: Config | None = None, clock: context.Clock | None = None) -> Flask:
    """Build the app; `clock` (a function returning an aware datetime) is replaceable for tests."""
    config = config or Config.from_env()
    _check_secret(config)
    app = Flask(__name__)
    app.json = JSONProvider(app)
    app.config.update(_flask_settings(config))
    context.init_app(app, config, clock)
    csrf.init_app(app)
    for module in (auth, errors, security, formatting):
        module.init_app(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    check_every_view(app)
    if vendor.missing():
        log.warning("dashboard assets missing (%s): %s", ", ".join(vendor.missing()), vendor.INSTALL_HINT)
    return app


def _check_secret(config: Config) -> None:
    if config.environment == "production" and config.secret_key in ("", DEFAULT_SECRET):
        raise ConfigError("AFFECTWATCH_SECRET_KEY must be set to a long random value in production")


def _flask_settings(config: Config) -> dict[str, object]:
    return {
        "SECRET_KEY": config.secret_key,
        "SESSION_COOKIE_NAME": "affectwatch_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": config.environment == "production",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=config.session_max_hours),
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": config.environment == "production",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
