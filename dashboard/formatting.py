"""Template filters: times in the care home's zone, ages in words, labels with their colours."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from affectwatch.labels import LABELS, NEGATIVE_LABELS
from dashboard.context import config, now, zone

COLOURS = {"anger": "#d62728", "contempt": "#8c564b", "disgust": "#bcbd22", "fear": "#9467bd",
           "happy": "#2ca02c", "neutral": "#7f7f7f", "sad": "#1f77b4", "surprise": "#ff7f0e"}


def when(t: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if t is None:
        return "—"
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(zone()).strftime(fmt)


def ago(t: datetime | None) -> str:
    """'12 s ago', '5 min ago', '3 h ago', '2 days ago', or 'never'."""
    if t is None:
        return "never"
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    seconds = max(0, int((now() - t).total_seconds()))
    for size, unit in ((86400, "days"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["ago"] = ago
    app.jinja_env.globals.update(LABELS=LABELS, NEGATIVE_LABELS=NEGATIVE_LABELS, COLOURS=COLOURS)
    app.context_processor(lambda: {"poll_seconds": config().dashboard_poll_seconds})
