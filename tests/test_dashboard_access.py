"""Walk the app's URL map: every route but sign-in (and static files) refuses an anonymous request,
and each role reaches exactly what its permissions allow."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.access import public_endpoints, view_permission
from dashboard.roles import PERMISSIONS
from tests.test_dashboard_support import *  # noqa: F403  (the fixtures)
from tests.test_dashboard_support import SignedInClients, csrf_token, sign_in

MISSING_ID = "987654"
PUBLIC = {"auth.login", "api.session_get", "api.session_post", "static", "vendor.asset", "ops.healthz", "ops.readyz"}
# What the issue asks of each area: which roles may use it.
EXPECTED_ROLES = {
    "overview.home": {"admin", "staff", "analyst"},
    "overview.dashboard": {"admin", "staff"},
    "alerts.": {"admin", "staff"},
    "api.alerts_": {"admin", "staff"},
    "history.export": {"admin", "analyst"},
    "api.history_csv": {"admin", "analyst"},
    "history.": {"admin", "staff", "analyst"},
    "api.history_get": {"admin", "staff", "analyst"},
    "cameras.": {"admin"},
    "api.cameras_": {"admin"},
    "residents.": {"admin"},
    "api.residents_": {"admin"},
    "users.": {"admin"},
    "api.users_": {"admin"},
    "system.": {"admin"},
    "api.system_": {"admin"},
    "auth.logout": {"admin", "staff", "analyst"},
    "api.session_delete": {"admin", "staff", "analyst"},
    "api.openapi_json": {"admin", "staff", "analyst"},
    "tokens.": {"admin", "staff", "analyst"},
    "api.tokens_": {"admin", "staff", "analyst"},
    "ops.metrics": {"admin"},
    "apidocs.docs": {"admin", "staff", "analyst"},
}


def routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, a URL for it) for every rule, ids pointing at nothing."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "vendor.asset"):
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "job-x" if m.group(1) == "job_id" else MISSING_ID, rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return sorted(out)


def expected_roles(endpoint: str) -> set[str]:
    matches = [k for k in EXPECTED_ROLES if endpoint == k or (k.endswith(("." , "_")) and endpoint.startswith(k))]
    assert matches, f"{endpoint} is not in the expected-access table"
    return EXPECTED_ROLES[max(matches, key=len)]


def call(client: FlaskClient, method: str, url: str, token: str) -> int:
    headers = {"X-CSRFToken": token}
    if url.startswith("/api/"):
        response = client.open(url, method=method, json={}, headers=headers)
    else:
        response = client.open(url, method=method, data={"csrf_token": token}, headers=headers)
    if response.status_code == 302 and "/login?next=" in response.headers["Location"]:
        return 401
    return response.status_code


def test_every_view_names_a_permission_known_to_the_roles(app: Flask) -> None:
    known = set().union(*PERMISSIONS.values()) | {"public"}
    for endpoint in app.view_functions:
        if endpoint == "static":
            continue
        assert view_permission(app, endpoint) in known, endpoint
    assert public_endpoints(app) == PUBLIC


def test_each_route_gives_the_roles_the_issue_asks_for(app: Flask) -> None:
    for endpoint, _, _ in routes(app):
        if endpoint in PUBLIC:
            continue
        permission = view_permission(app, endpoint)
        granted = {role for role, perms in PERMISSIONS.items() if permission in perms}
        assert granted == expected_roles(endpoint), endpoint


def test_anonymous_requests_are_refused_everywhere_but_sign_in(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client)
    for endpoint, method, url in routes(app):
        status = call(client, method, url, token)
        if endpoint in PUBLIC:
            wrong_password = (endpoint, method) in {("auth.login", "POST"), ("api.session_post", "POST")}
            assert status in ((401,) if wrong_password else (200,)), (endpoint, method, status)
        else:
            assert status == 401, (endpoint, method, url, status)


def test_each_role_reaches_only_what_it_may(app: Flask, clients: SignedInClients) -> None:
    for role, client in clients.all().items():
        token = csrf_token(client)
        for endpoint, method, url in routes(app):
            if endpoint in PUBLIC:
                continue
            status = call(client, method, url, token)
            if role in expected_roles(endpoint):
                assert status not in (401, 403), (role, endpoint, method, url, status)
            else:
                assert status == 403, (role, endpoint, method, url, status)
            if endpoint in ("auth.logout", "api.session_delete"):
                assert sign_in(client, role).status_code == 302
                token = csrf_token(client)


@pytest.mark.parametrize("path", ["/", "/overview", "/cameras/", "/api/v1/cameras", "/api/v1/openapi.json"])
def test_an_unknown_session_cookie_counts_as_anonymous(app: Flask, path: str) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session["token"] = "made-up"
    status = call(client, "GET", path, csrf_token(client))
    assert status == 401
