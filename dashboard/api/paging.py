"""Lists in pages, and answers to creation: the API's conventions.

Every list answers `{"<items>": [...], "total": N, "limit": L, "next_cursor": C}`, N counting every item
the filters match, and a `Link: <...>; rel="next"` header while more remain. `limit` (1-1000, default
100) sets the page size; `cursor` (the previous page's next_cursor, opaque) asks for the next page. A
cursor names the last item seen by its sort key, not by its position, so items added or removed
meanwhile neither repeat nor go missing from later pages. A create answers 201 with the new item
and its address in `Location`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Response, jsonify, request

from affectwatch.exceptions import FieldErrors
from dashboard import inputs

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
Key = list[Any]


def limit(values: inputs.Values) -> int:
    errors = inputs.Errors()
    found = inputs.number(values, "limit", int, errors, 1, MAX_LIMIT)
    errors.raise_any()
    return found or DEFAULT_LIMIT


def encode(key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def cursor(values: inputs.Values, width: int) -> Key | None:
    """The sort key the `cursor` parameter holds (a list of `width` values), or None on a first page."""
    raw = inputs.text(values, "cursor")
    if not raw:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        key = None
    if not isinstance(key, list) or len(key) != width:
        raise FieldErrors({"cursor": "not a cursor this API gave: use next_cursor from the previous page"})
    return key


def answer(key: str, items: Sequence[Any], total: int, size: int, next_key: Key | None) -> Response:
    """The page as JSON, with total, limit, next_cursor and the Link header."""
    next_cursor = encode(next_key) if next_key is not None else None
    response = jsonify({key: list(items), "total": total, "limit": size, "next_cursor": next_cursor})
    if next_cursor is not None:
        query = urlencode({**request.args.to_dict(), "cursor": next_cursor})
        response.headers["Link"] = f'<{request.base_url}?{query}>; rel="next"'
    return response


def page(key: str, rows: Sequence[dict[str, Any]], values: inputs.Values,
         sort_key: Callable[[dict[str, Any]], Key] | None = None) -> Response:
    """A page of a list held whole in memory (cameras, residents, users, tokens: a home has tens of them),
    ordered by sort_key (default: the row's id)."""
    by = sort_key or (lambda row: [row["id"]])
    size = limit(values)
    ordered = sorted(rows, key=by)
    after = cursor(values, len(by(ordered[0])) if ordered else 1)
    try:
        rest = [r for r in ordered if after is None or by(r) > after]
    except TypeError:
        raise FieldErrors({"cursor": "not a cursor of this list"}) from None
    shown = rest[:size]
    return answer(key, shown, len(rows), size, by(shown[-1]) if len(rest) > size else None)


def created(item: dict[str, Any], location: str) -> Response:
    response = jsonify(item)
    response.status_code = 201
    response.headers["Location"] = location
    return response
