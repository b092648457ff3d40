"""Turning what a form or an API request sent into typed values, with one message per bad field.

Forms and JSON bodies are both mappings; a checkbox or JSON boolean is a flag, empty text is "not
given". Every parser raises FieldErrors naming the fields at fault, so pages and the API answer alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from affectwatch.exceptions import FieldErrors

T = TypeVar("T")
Values = Mapping[str, Any]
PAUSE_REASONS = ("care", "visit", "privacy", "other")
TRUE = {"1", "true", "on", "yes"}
FALSE = {"0", "false", "off", "no", ""}


class Errors(dict[str, str]):
    """Collects field errors; `raise_any()` raises them together."""

    def raise_any(self) -> None:
        if self:
            raise FieldErrors(dict(self))


def given(values: Values, key: str) -> bool:
    return key in values and values[key] is not None and str(values[key]).strip() != ""


def echoed(values: Values) -> dict[str, Any]:
    """A rejected form's fields, to fill the form again: never its own "id" (the URL names the record)."""
    return {k: v for k, v in values.items() if k != "id"}


def text(values: Values, key: str, default: str = "") -> str:
    raw = values.get(key, default)
    return default if raw is None else str(raw).strip()


def flag(values: Values, key: str, default: bool = False) -> bool:
    """A checkbox (present and 'on') or a JSON boolean; absent means `default`."""
    if key not in values:
        return default
    raw = values[key]
    if isinstance(raw, bool):
        return raw
    low = str(raw).strip().lower()
    if low in TRUE or low in FALSE:
        return low in TRUE
    raise FieldErrors({key: "must be true or false"})


def number(values: Values, key: str, kind: Callable[[str], T], errors: Errors, low: float | None = None,
           high: float | None = None) -> T | None:
    """A number within [low, high], or None when not given; a bad one is noted in `errors`."""
    if not given(values, key):
        return None
    try:
        value = kind(str(values[key]).strip())
    except ValueError:
        errors[key] = "must be a number" if kind is float else "must be a whole number"
        return None
    if (low is not None and value < low) or (high is not None and value > high):  # type: ignore[operator]
        errors[key] = f"must lie between {low:g} and {high:g}"
        return None
    return value


def optional_id(values: Values, key: str, errors: Errors) -> int | None:
    return number(values, key, int, errors, 1)


def moment(values: Values, key: str, zone: ZoneInfo, errors: Errors, end_of_day: bool = False) -> datetime | None:
    """A time: ISO 8601 with a zone, a local 'YYYY-MM-DDTHH:MM' (a datetime-local input) or a date."""
    if not given(values, key):
        return None
    raw = str(values[key]).strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day + timedelta(days=1) if end_of_day else day, time(), zone)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        errors[key] = "must be a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM)"
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def camera(values: Values, partial: bool) -> dict[str, Any]:
    """Keyword arguments for affectwatch.queries.cameras add_camera (or update_camera when partial)."""
    errors = Errors()
    out: dict[str, Any] = {}
    for key in ("name", "source", "location"):
        if key in values or not partial:
            out[key] = text(values, key)
    if given(values, "sample_fps"):
        out["sample_fps"] = number(values, "sample_fps", float, errors, 0.01, 30)
    if "enabled" in values or not partial:
        out["enabled"] = flag(values, "enabled")
    if "resident_ids" in values:
        out["resident_ids"] = id_list(values, "resident_ids", "resident")
    elif "resident_id" in values or not partial:
        out["resident_id"] = optional_id(values, "resident_id", errors)
    errors.raise_any()
    return {k: v for k, v in out.items() if not (k == "sample_fps" and v is None)}


def resident(values: Values, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "room"):
        if key in values or not partial:
            out[key] = text(values, key)
    if "monitored" in values or not partial:
        out["monitored"] = flag(values, "monitored")
    return out


def camera_ids(values: Values, key: str = "camera_ids") -> list[int]:
    """A list of camera ids: a JSON list, or a form's repeated field (given as a list)."""
    return sorted(set(id_list(values, key, "camera")))


def id_list(values: Values, key: str, what: str) -> list[int]:
    """Ids in the order given, without repeats: a JSON list, or a form's repeated field (given as a list)."""
    raw = values.get(key) or []
    items = raw if isinstance(raw, list) else [raw]
    try:
        ids = [int(x) for x in items if str(x).strip()]
    except (TypeError, ValueError) as exc:
        raise FieldErrors({key: f"must be a list of {what} ids"}) from exc
    if any(i < 1 for i in ids):
        raise FieldErrors({key: f"must be a list of {what} ids"})
    return list(dict.fromkeys(ids))


def pause(values: Values, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """A monitoring pause: reason, note, and either `minutes` from now or `starts_at`/`ends_at`."""
    errors = Errors()
    reason = text(values, "reason", "other")
    if reason not in PAUSE_REASONS:
        errors["reason"] = f"must be one of {', '.join(PAUSE_REASONS)}"
    note = text(values, "note")
    if len(note) > 500:
        errors["note"] = "must have at most 500 characters"
    starts = moment(values, "starts_at", zone, errors) or now
    minutes = number(values, "minutes", int, errors, 1, 60 * 24 * 90)
    ends = starts + timedelta(minutes=minutes) if minutes else moment(values, "ends_at", zone, errors)
    if ends is None and not errors:
        errors["ends_at"] = "give the end of the pause, or its length in minutes"
    elif ends is not None and ends <= starts:
        errors["ends_at"] = "must be after the start"
    errors.raise_any()
    return {"starts_at": starts, "ends_at": ends, "reason": reason, "note": note}


def thresholds(values: Values) -> dict[str, Any]:
    """Alert-threshold overrides; a field left empty (or baseline 'default') means "use the default"."""
    errors = Errors()
    out = {
        "window_seconds": number(values, "window_seconds", int, errors, 10, 86400),
        "negative_share": number(values, "negative_share", float, errors, 0.01, 1),
        "min_faces": number(values, "min_faces", int, errors, 1, 100000),
        "cooldown_seconds": number(values, "cooldown_seconds", int, errors, 0, 604800),
        "close_share": number(values, "close_share", float, errors, 0, 0.99),
        "baseline": None if text(values, "baseline", "default") in ("default", "") else flag(values, "baseline"),
        "baseline_margin": number(values, "baseline_margin", float, errors, 0, 0.99),
        "offline_seconds": number(values, "offline_seconds", int, errors, 30, 604800),
        "min_span_seconds": number(values, "min_span_seconds", int, errors, 0, 86400),
        "min_minutes": number(values, "min_minutes", int, errors, 0, 1440),
    }
    errors.raise_any()
    return out


def threshold_defaults(config: Any) -> dict[str, Any]:
    """The configured values an override replaces, in the override's units."""
    return {
        "window_seconds": round(config.alert_window_minutes * 60), "negative_share": config.alert_open_share,
        "min_faces": config.alert_min_faces, "cooldown_seconds": round(config.alert_cooldown_minutes * 60),
        "close_share": config.alert_close_share, "baseline": config.alert_baseline,
        "baseline_margin": config.alert_baseline_margin,
        "offline_seconds": round(config.camera_offline_minutes * 60),
        "min_span_seconds": round(config.alert_min_span_minutes * 60), "min_minutes": config.alert_min_minutes,
    }


def time_range(values: Values, now: datetime, zone: ZoneInfo, default_days: int = 7,
               longest_days: int = 400) -> tuple[datetime, datetime]:
    """[from, to) from 'from'/'to' (dates count whole days); by default the last `default_days` days."""
    errors = Errors()
    end = moment(values, "to", zone, errors, end_of_day=True) or now
    start = moment(values, "from", zone, errors) or end - timedelta(days=default_days)
    if not errors and start >= end:
        errors["from"] = "must be before 'to'"
    if not errors and end - start > timedelta(days=longest_days):
        errors["from"] = f"the range may span at most {longest_days} days"
    errors.raise_any()
    return start, end


def choice(values: Values, key: str, options: tuple[str, ...], default: str) -> str:
    value = text(values, key, default) or default
    if value not in options:
        raise FieldErrors({key: f"must be one of {', '.join(options)}"})
    return value
