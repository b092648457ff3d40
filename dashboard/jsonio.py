"""JSON in and out: ISO 8601 times, dataclass rows, and request bodies checked to be objects."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import request
from flask.json.provider import DefaultJSONProvider

from affectwatch.exceptions import FieldErrors


class JSONProvider(DefaultJSONProvider):
    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime | date):
            return o.isoformat()
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return dataclasses.asdict(o)
        if isinstance(o, Decimal):
            return float(o)
        if isinstance(o, uuid.UUID):
            return str(o)
        return DefaultJSONProvider.default(o)


def body() -> dict[str, Any]:
    """The request's JSON object; FieldErrors when it is missing or not an object."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise FieldErrors({"body": "send a JSON object with Content-Type: application/json"})
    return data
