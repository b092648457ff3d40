"""Alerts: the rule over windows of faces, its engine and the baseline, and the alert counters (shared by the
worker, the notifier and the dashboard). The sweep and delivery to staff are the notifier (notifier/)."""
