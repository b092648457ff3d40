"""Response headers: a strict Content Security Policy (no inline script anywhere), no framing, no sniffing;
in production, over HTTPS, Strict-Transport-Security (browsers then refuse plain HTTP to this site)."""

from __future__ import annotations

from flask import Flask, Response, request

from dashboard.context import config

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
       " media-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HSTS = "max-age=31536000"  # a year; not includeSubDomains: the home's other sites are not ours to decide


def add_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure and config().environment == "production":
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint not in ("static", "vendor.asset"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_headers)
