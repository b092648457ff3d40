"""Browser libraries installed by npm (dashboard/package.json) and served from this site, never a CDN.

`npm ci --prefix dashboard` puts them in dashboard/node_modules (git-ignored); only the files named
here are served. A missing one is a 404 whose message says how to install it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, abort, send_file
from flask.typing import ResponseReturnValue

from dashboard.auth import PUBLIC, requires

log = logging.getLogger(__name__)
NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
ASSETS: dict[str, Path] = {
    "chart.umd.min.js": NODE_MODULES / "chart.js" / "dist" / "chart.umd.min.js",
    "swagger-ui-bundle.js": NODE_MODULES / "swagger-ui-dist" / "swagger-ui-bundle.js",
    "swagger-ui.css": NODE_MODULES / "swagger-ui-dist" / "swagger-ui.css",
}
INSTALL_HINT = ("run `npm ci --prefix dashboard` (or scripts/setup.sh) to install the dashboard's chart library and"
                " API browser")

bp = Blueprint("vendor", __name__, url_prefix="/static/vendor")


def missing() -> list[str]:
    return [name for name, path in ASSETS.items() if not path.is_file()]


@bp.route("/<name>")
@requires(PUBLIC)
def asset(name: str) -> ResponseReturnValue:
    path = ASSETS.get(name)
    if path is None:
        abort(404)
    if not path.is_file():
        log.error("%s is missing: %s", path, INSTALL_HINT)
        abort(404, description=f"{name} is not installed: {INSTALL_HINT}")
    return send_file(path, max_age=3600)
