"""`affectwatch migrate` and `affectwatch config`."""

from __future__ import annotations

import argparse

from affectwatch import service_roles
from affectwatch.config import Config
from affectwatch.migrate import migrate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("migrate", help="create the database if needed and apply pending migrations")
    p.set_defaults(handler=run_migrate)
    p = sub.add_parser("config", help="list every setting, its default and meaning")
    p.set_defaults(handler=show_config)


def run_migrate(args: argparse.Namespace, config: Config) -> int:
    done = migrate(config)
    print(f"applied {len(done)} migration(s)" + "".join(f"\n  {m.path.name}" for m in done))
    for name in service_roles.apply(config):
        print(f"database login {name}: ready")
    return 0


def show_config(args: argparse.Namespace, config: Config) -> int:
    for var, default, doc in Config.describe():
        print(f"{var}\n    default: {default}\n    {doc}")
    return 0
