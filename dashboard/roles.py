"""What each role (affectwatch.accounts.ROLES) may do.

Every dashboard and API view names the one permission it needs.
"""

from __future__ import annotations

ROLE_TITLES: dict[str, str] = {"admin": "Administrator", "staff": "Care staff", "analyst": "Analyst"}

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({
        "home", "overview", "alerts:view", "alerts:ack", "history:view", "history:export",
        "cameras:manage", "residents:manage", "users:manage", "system:view", "system:requeue",
    }),
    "staff": frozenset({"home", "overview", "alerts:view", "alerts:ack", "history:view"}),
    "analyst": frozenset({"home", "history:view", "history:export"}),
}

ALL_PERMISSIONS: frozenset[str] = frozenset().union(*PERMISSIONS.values())


def allowed(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
