"""Each service connects as a login of its own with only its group role's privileges (docs/sql.md, "Connecting"):
`affectwatch migrate` makes or updates the producer's, workers' and dashboard's logins from their configured
passwords (AFFECTWATCH_PRODUCER_DB_PASSWORD and the others, or their _FILE), as the schema's owner."""

from __future__ import annotations

import logging

import psycopg

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.queries import roles as q

log = logging.getLogger(__name__)


def passwords(config: Config) -> dict[str, str]:
    given = {"producer": config.producer_db_password, "worker": config.worker_db_password,
             "dashboard": config.dashboard_db_password}
    return {service: password for service, password in given.items() if password}


def apply(config: Config) -> list[str]:
    """Make or update the login of every service with a configured password; their names."""
    wanted = passwords(config)
    if not wanted:
        return []
    database = str(psycopg.conninfo.conninfo_to_dict(config.database_url).get("dbname") or "affectwatch")
    names = []
    with connect(config, autocommit=True) as conn:
        for service, password in wanted.items():
            name = q.login_name(database, service)
            created = q.ensure_login(conn, name, service, password)
            log.info("%s the %s's database login %s", "made" if created else "updated", service, name)
            names.append(name)
    return names
