"""Resident identity: face templates with their consent, and the residents each camera watches.

Templates are biometric data (docs/privacy.md): they are read by workers (a camera's gallery) and written
only by an enrolment, which records its consent in the same transaction. Every function takes an open
connection and leaves the transaction to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row, tuple_row

from affectwatch.exceptions import ValidationError

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Consent:
    given_by: str
    given_at: datetime
    on_behalf_of: str
    recorded_by: str


@dataclass(frozen=True)
class Enrolment:
    """What is kept of a resident's enrolment: how many templates, when taken, under whose consent."""

    resident_id: int
    templates: int
    first_taken_at: datetime | None
    last_taken_at: datetime | None
    model: str | None
    consent_by: str | None
    consent_at: datetime | None
    on_behalf_of: str | None


def check_consent(consent: Consent) -> Consent:
    for label, value in (("who gave the consent", consent.given_by), ("on whose behalf", consent.on_behalf_of)):
        if not 1 <= len(value.strip()) <= 200:
            raise ValidationError(f"enrolment needs a recorded consent: {label} (1 to 200 characters)")
    return Consent(consent.given_by.strip(), consent.given_at, consent.on_behalf_of.strip(),
                   consent.recorded_by[:200] or "?")


def add_templates(conn: Conn, resident_id: int, consent: Consent, templates: Sequence[Sequence[float]],
                  model: str) -> list[int]:
    """Record the consent and insert the templates under it; their ids."""
    consent = check_consent(consent)
    if not templates:
        raise ValidationError("no face template to enrol")
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute("INSERT INTO identity_consents (resident_id, given_by, given_at, on_behalf_of, recorded_by)"
                          " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                          (resident_id, consent.given_by, consent.given_at, consent.on_behalf_of,
                           consent.recorded_by)).fetchone()
        assert row is not None
        ids = []
        for t in templates:
            found = cur.execute("INSERT INTO face_templates (resident_id, consent_id, template, model, enrolled_by)"
                                " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                                (resident_id, row[0], [float(v) for v in t], model, consent.recorded_by)).fetchone()
            assert found is not None
            ids.append(int(found[0]))
    return ids


def enrolment(conn: Conn, resident_id: int) -> Enrolment:
    query = """
    SELECT %(r)s::bigint AS resident_id, count(t.id)::integer AS templates, min(t.taken_at) AS first_taken_at,
           max(t.taken_at) AS last_taken_at, max(t.model) AS model,
           (SELECT c.given_by FROM identity_consents c WHERE c.resident_id = %(r)s ORDER BY c.id DESC LIMIT 1)
               AS consent_by,
           (SELECT c.given_at FROM identity_consents c WHERE c.resident_id = %(r)s ORDER BY c.id DESC LIMIT 1)
               AS consent_at,
           (SELECT c.on_behalf_of FROM identity_consents c WHERE c.resident_id = %(r)s ORDER BY c.id DESC LIMIT 1)
               AS on_behalf_of
      FROM face_templates t WHERE t.resident_id = %(r)s
    """
    with conn.cursor(row_factory=class_row(Enrolment)) as cur:
        row = cur.execute(query, {"r": resident_id}).fetchone()
    assert row is not None, "an aggregate returns a row"
    return row


def enrolled_counts(conn: Conn) -> dict[int, int]:
    """Resident id -> number of templates, for every enrolled resident."""
    rows = _tuples(conn).execute("SELECT resident_id, count(*) FROM face_templates GROUP BY resident_id").fetchall()
    return {int(r[0]): int(r[1]) for r in rows}


def remove_templates(conn: Conn, resident_id: int) -> int:
    """Delete a resident's templates and the consents they were taken under; how many templates."""
    with conn.cursor(row_factory=tuple_row) as cur:
        n = cur.execute("DELETE FROM face_templates WHERE resident_id = %s", (resident_id,)).rowcount
        cur.execute("DELETE FROM identity_consents WHERE resident_id = %s", (resident_id,))
    return n


def count_templates(conn: Conn, resident_id: int) -> int:
    row = _tuples(conn).execute("SELECT count(*) FROM face_templates WHERE resident_id = %s", (resident_id,)).fetchone()
    return int(row[0]) if row else 0


def gallery(conn: Conn, camera_id: int) -> list[tuple[int, int, list[float]]]:
    """(template id, resident id, template) of every enrolled resident the camera watches, by template id."""
    rows = _tuples(conn).execute("SELECT t.id, t.resident_id, t.template FROM face_templates t"
                        " JOIN camera_residents cr ON cr.resident_id = t.resident_id"
                        " WHERE cr.camera_id = %s ORDER BY t.id", (camera_id,)).fetchall()
    return [(int(r[0]), int(r[1]), list(r[2])) for r in rows]


def resident_gallery(conn: Conn, resident_id: int) -> list[tuple[int, int, list[float]]]:
    """(template id, resident id, template) of one resident's templates (replay's gallery), by template id."""
    rows = _tuples(conn).execute("SELECT id, resident_id, template FROM face_templates WHERE resident_id = %s"
                                 " ORDER BY id", (resident_id,)).fetchall()
    return [(int(r[0]), int(r[1]), list(r[2])) for r in rows]


def camera_residents(conn: Conn, camera_ids: Sequence[int] | None = None) -> dict[int, list[int]]:
    """Camera id -> the residents it watches, first (its main resident) first."""
    rows = _tuples(conn).execute("SELECT camera_id, resident_id FROM camera_residents"
                        " WHERE %(all)s OR camera_id = ANY(%(ids)s) ORDER BY camera_id, position, resident_id",
                        {"all": camera_ids is None, "ids": list(camera_ids or [])}).fetchall()
    found: dict[int, list[int]] = {}
    for camera, resident in rows:
        found.setdefault(int(camera), []).append(int(resident))
    return found


def set_camera_residents(conn: Conn, camera_id: int, resident_ids: Sequence[int]) -> None:
    """Replace the residents a camera watches (in this order; duplicates dropped)."""
    unique = list(dict.fromkeys(int(r) for r in resident_ids))
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("DELETE FROM camera_residents WHERE camera_id = %s", (camera_id,))
        cur.executemany("INSERT INTO camera_residents (camera_id, resident_id, position) VALUES (%s, %s, %s)",
                        [(camera_id, r, i) for i, r in enumerate(unique)])


def camera_identity(conn: Conn) -> dict[int, dict[str, Any]]:
    """Camera id -> {resident_ids, enrolled (ids of its enrolled residents)}, for every camera."""
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT c.id AS camera_id,"
        " coalesce(array_agg(cr.resident_id ORDER BY cr.position, cr.resident_id)"
        "          FILTER (WHERE cr.resident_id IS NOT NULL), '{}') AS resident_ids,"
        " coalesce(array_agg(cr.resident_id ORDER BY cr.position, cr.resident_id)"
        "          FILTER (WHERE EXISTS (SELECT 1 FROM face_templates t WHERE t.resident_id = cr.resident_id)),"
        "          '{}') AS enrolled"
        " FROM cameras c LEFT JOIN camera_residents cr ON cr.camera_id = c.id GROUP BY c.id").fetchall()
    return {int(r["camera_id"]): {"resident_ids": list(r["resident_ids"]), "enrolled": list(r["enrolled"])}
            for r in rows}


def _tuples(conn: Conn) -> psycopg.Cursor[tuple[Any, ...]]:
    return conn.cursor(row_factory=tuple_row)
