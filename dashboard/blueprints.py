"""Every blueprint of the dashboard, registered by the app factory in this order."""

from __future__ import annotations

from flask import Blueprint

from dashboard import alerts, auth, cameras, history, ops, overview, residents, system, tokens, users, vendor
from dashboard.api import bp as api
from dashboard.api.openapi import docs_bp

BLUEPRINTS: tuple[Blueprint, ...] = (
    auth.bp, overview.bp, alerts.bp, history.bp, residents.bp, cameras.bp, system.bp, users.bp, vendor.bp, ops.bp,
    tokens.bp, api, docs_bp,
)
