"""Alerts: the rule over windows of faces, its engine, the sweep, and delivery to staff."""
