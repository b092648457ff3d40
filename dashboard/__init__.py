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
from dashboard import auditing, auth, context, errors, formatting, security, telemetry, vendor
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
    for module in (telemetry, auth, auditing, errors, security, formatting):  # auditing after auth: it needs g.user
        module.init_app(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    check_every_view(app)
    if vendor.missing():
        log.warning("dashboard assets missing (%s): %s", ", ".join(vendor.missing()), vendor.INSTALL_HINT)
    return app


def _check_secret(config: Config) -> None:
    if config.environment == "production" and (config.secret_key == DEFAULT_SECRET or len(config.secret_key) < 32):
        raise ConfigError("AFFECTWATCH_SECRET_KEY must be set to a long random value (32+ characters) in production")
    if config.environment == "production" and not strong_hash(config.password_hash):
        raise ConfigError(f"AFFECTWATCH_PASSWORD_HASH={config.password_hash!r} is too weak for production: use scrypt, "
                          "or pbkdf2:sha256 with 600000 rounds or more")


def strong_hash(method: str) -> bool:
    """werkzeug's scrypt (N >= 2**14) or PBKDF2-SHA256 (>= 600 000 rounds, OWASP 2023); nothing weaker."""
    parts = method.split(":")
    if parts[0] == "scrypt":
        return len(parts) == 1 or (len(parts) == 4 and parts[1].isdigit() and int(parts[1]) >= 2**14)
    return parts[:2] == ["pbkdf2", "sha256"] and (len(parts) == 2 or (parts[2].isdigit() and int(parts[2]) >= 600_000))


def _flask_settings(config: Config) -> dict[str, object]:
    return {
        "SECRET_KEY": config.secret_key,
        "SESSION_COOKIE_NAME": "affectwatch_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": config.environment == "production",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=config.session_max_hours),
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_CHECK_DEFAULT": False,  # dashboard.auth.check_csrf checks, except for API-token requests
        "WTF_CSRF_SSL_STRICT": config.environment == "production",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
