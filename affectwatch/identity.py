"""How a camera decides whose face it sees, in words the command line, the API and the dashboard share."""

from __future__ import annotations

from collections.abc import Sequence

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
