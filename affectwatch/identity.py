"""How a camera decides whose face it sees, in words the command line, the API and the dashboard share; removing a
resident's enrolment; and the request by which the dashboard has a worker enrol photos (the dashboard runs no
models: it puts the photos on the frame queue, a worker takes the templates and stores them, and the dashboard
waits for its answer)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from affectwatch import audit
from affectwatch.exceptions import ValidationError
from affectwatch.queries import identity as q

MAX_PHOTOS = 50  # a single enrolment's
MAX_PHOTO_BYTES = 20_000_000
SINGLE_PERSON = "single person: every face counts"
NO_RESIDENT = "no resident: faces are recorded for no one"


def mode(resident_ids: Sequence[int], enrolled: Sequence[int]) -> str:
    """A camera's identity mode: whether its faces are matched (some resident enrolled) or all assumed."""
    if not resident_ids:
        return NO_RESIDENT
    if not enrolled:
        return SINGLE_PERSON
    return (f"identifies {len(enrolled)} of {len(resident_ids)} resident(s): "
            "other faces are unknown and never count")


def unenrol(conn: q.Conn, resident_id: int, actor: audit.Actor) -> int:
    """Remove every template of the resident (and its consent records); how many; audited."""
    n = q.remove_templates(conn, resident_id)
    audit.record(conn, actor, "unenrol", resident_id, f"{n} face template(s) removed")
    return n


@dataclass(frozen=True)
class Photo:
    name: str  # for errors only: a file's path, an upload's file name
    data: bytes


@dataclass(frozen=True)
class EnrolmentRequest:
    """An enrolment for a worker to carry out (affectwatch.queue.ENROL_FACES), as plain JSON."""

    resident_id: int
    consent: q.Consent
    actor: audit.Actor
    photos: list[Photo]

    def to_json(self) -> dict[str, Any]:
        c, a = self.consent, self.actor
        return {
            "resident_id": self.resident_id,
            "consent": {"given_by": c.given_by, "given_at": c.given_at.isoformat(), "on_behalf_of": c.on_behalf_of,
                        "recorded_by": c.recorded_by},
            "actor": {"name": a.name, "user_id": a.user_id, "remote_addr": a.remote_addr},
            "photos": [{"name": p.name, "data": base64.b64encode(p.data).decode("ascii")} for p in self.photos],
        }

    @classmethod
    def from_json(cls, raw: Any) -> EnrolmentRequest:
        """Parse a request; anything malformed is a ValidationError."""
        try:
            c, a = raw["consent"], raw["actor"]
            return cls(
                int(raw["resident_id"]),
                q.Consent(str(c["given_by"]), datetime.fromisoformat(str(c["given_at"])), str(c["on_behalf_of"]),
                          str(c["recorded_by"])),
                audit.Actor(str(a["name"]), None if a["user_id"] is None else int(a["user_id"]),
                            str(a["remote_addr"])),
                [Photo(str(p["name"]), base64.b64decode(str(p["data"]), validate=True)) for p in raw["photos"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"malformed enrolment request: {exc!r}") from exc
