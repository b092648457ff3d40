# ruff: noqa: F811  (fixtures imported from tests.test_dashboard_support)
"""The generated OpenAPI document: every route, typed answers that real answers match, problem details,
and the API browser served from this site."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema

from dashboard import vendor
from dashboard.api import schemas as s
from dashboard.api.openapi import OPERATIONS
from tests.test_api_tokens import add_alerts, make_token
from tests.test_dashboard_support import accounts, api, app, clients, clock, dash_config  # noqa: F401  (fixtures)


def matches(schema: type[Schema], answer: Any) -> None:
    """The answer has exactly the schema's fields (more where it allows), each of its type."""
    errors = schema().validate(answer)
    assert not errors, (schema.__name__, errors)


def test_real_answers_match_their_documented_schemas(app: Flask, clients: Any, dash_config: Any) -> None:
    admin: FlaskClient = clients["admin"]
    (alert_id,) = add_alerts(dash_config, 1)
    camera = api(admin, "POST", "/api/v1/cameras", {"name": "Lounge", "source": "rtsp://cam.example/1"}).get_json()
    resident = api(admin, "POST", "/api/v1/residents", {"name": "Ada", "room": "3", "camera_ids": [camera["id"]]})
    resident_id = resident.get_json()["id"]
    pause = api(admin, "POST", f"/api/v1/residents/{resident_id}/pauses", {"reason": "care", "minutes": 30})
    made = make_token(admin)
    answers: list[tuple[type[Schema], Any]] = [
        (s.Session, admin.get("/api/v1/session").get_json()),
        (s.Camera, camera), (s.ResidentDetail, resident.get_json()), (s.PauseCreated, pause.get_json()),
        (s.TokenCreated, made),
        (s.AlertPage, admin.get("/api/v1/alerts?state=all").get_json()),
        (s.AlertDetail, admin.get(f"/api/v1/alerts/{alert_id}").get_json()),
        (s.AlertFeed, admin.get("/api/v1/alerts/feed?after=0").get_json()),
        (s.CameraPage, admin.get("/api/v1/cameras").get_json()),
        (s.ResidentPage, admin.get("/api/v1/residents").get_json()),
        (s.ResidentWithDefaults, admin.get(f"/api/v1/residents/{resident_id}").get_json()),
        (s.ThresholdsAnswer, admin.get(f"/api/v1/residents/{resident_id}/thresholds").get_json()),
        (s.History, admin.get(f"/api/v1/residents/{resident_id}/history").get_json()),
        (s.UserPage, admin.get("/api/v1/users").get_json()),
        (s.User, admin.get(f"/api/v1/users/{admin.get('/api/v1/session').get_json()['user']['id']}").get_json()),
        (s.TokenPage, admin.get("/api/v1/tokens").get_json()),
        (s.Token, admin.get(f"/api/v1/tokens/{made['id']}").get_json()),
        (s.System, admin.get("/api/v1/system").get_json()),
        (s.Problem, admin.get("/api/v1/alerts/999999").get_json()),
        (s.Problem, api(admin, "POST", "/api/v1/users", {"username": ""}).get_json()),
    ]
    found = {schema: answer for schema, answer in answers}
    assert len(found[s.AlertPage]["alerts"]) == 1 and found[s.TokenPage]["tokens"]
    for schema, answer in answers:
        matches(schema, answer)
    with pytest.raises(AssertionError):  # the check can fail: an answer with a field the schema lacks
        matches(s.Token, {**made, "surprise": 1})


def test_the_document_is_generated_from_every_route_with_typed_answers(app: Flask, clients: Any) -> None:
    doc = clients["analyst"].get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0" and doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    assert endpoints == set(OPERATIONS)
    schemas = doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            status, answer = next((k, v) for k, v in op["responses"].items() if k.startswith("2"))
            if status == "204":
                assert "content" not in answer, (method, path)
                continue
            content = answer["content"].get("application/json")
            if content is None:
                assert path.endswith(".csv")
                continue
            name = content["schema"]["$ref"].rsplit("/", 1)[-1]
            assert schemas[name]["type"] == "object" and schemas[name]["properties"], (method, path)
            if status == "201":
                assert "Location" in answer["headers"], (method, path)
            assert op["responses"]["404"] == {"$ref": "#/components/responses/Problem"}
    alert = schemas["Alert"]
    assert alert["properties"]["opened_at"] == {"type": "string", "format": "date-time"}
    assert alert["properties"]["resident_id"]["type"] == ["integer", "null"] and "opened_at" in alert["required"]
    listing = doc["paths"]["/alerts"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"state", "from", "to", "limit", "cursor", "camera_id"}
    assert schemas["AlertPage"]["properties"]["alerts"]["items"] == {"$ref": "#/components/schemas/Alert"}
    assert doc["paths"]["/tokens"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TokenIn"}
    problem = doc["components"]["responses"]["Problem"]["content"]["application/problem+json"]
    assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_the_api_browser_is_served_from_this_site(app: Flask, clients: Any) -> None:
    page = clients["staff"].get("/api-docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-spec="/api/v1/openapi.json"' in html
    assert "/static/vendor/swagger-ui-bundle.js" in html and "/static/vendor/swagger-ui.css" in html
    assert "https://" not in html and "http://" not in html  # nothing from a CDN
    assert app.test_client().get("/api-docs").status_code == 302  # signed in only
    if "swagger-ui-bundle.js" in vendor.missing():
        pytest.skip("swagger-ui-dist is not installed (npm ci --prefix dashboard)")
    bundle = app.test_client().get("/static/vendor/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and b"SwaggerUIBundle" in bundle.data
