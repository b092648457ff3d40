"""The care home's time zone and negative labels, copied from the configuration to where the views read them."""

from __future__ import annotations

import logging

from affectwatch.config import Config
from affectwatch.exceptions import ConfigError
from affectwatch.queries import history as q

log = logging.getLogger(__name__)


def sync_settings(conn: q.Conn, config: Config) -> bool:
    """Store AFFECTWATCH_TIMEZONE and AFFECTWATCH_NEGATIVE_LABELS for the views; True if they changed."""
    if not q.timezone_known(conn, config.timezone):
        raise ConfigError(f"AFFECTWATCH_TIMEZONE={config.timezone!r} is not a time zone Postgres knows "
                          "(use a name such as Europe/London)")
    changed = q.sync_settings(conn, config.timezone, sorted(config.negative_labels))
    if changed:
        log.info("history views now use time zone %s and negative labels %s", config.timezone,
                 ",".join(sorted(config.negative_labels)))
    return changed
