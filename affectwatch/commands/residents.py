"""`affectwatch resident add|list|update|remove`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TypeAlias

from affectwatch import audit
from affectwatch.commands.history import add_erase_parser
from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import ValidationError
from affectwatch.queries import residents

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: Sub) -> None:
    p = sub.add_parser("resident", help="register and manage residents")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_parser(actions)
    _list_parser(actions)
    _update_parser(actions)
    _remove_parser(actions)
    add_erase_parser(actions)


def _add_parser(actions: Sub) -> None:
    p = actions.add_parser("add", help="register a resident")
    p.add_argument("name")
    p.add_argument("--room", default="")
    p.add_argument("--unmonitored", action="store_true", help="register without monitoring (no alerts, no events)")
    p.set_defaults(handler=add)


def add(args: argparse.Namespace, config: Config) -> int:
    with audit.cli_transaction(config) as conn:
        resident = residents.add_resident(conn, args.name, room=args.room, monitored=not args.unmonitored)
    print(f"added resident {resident.id} {resident.name!r}")
    return 0


def _list_parser(actions: Sub) -> None:
    p = actions.add_parser("list", help="list residents")
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(handler=list_all)


def list_all(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        found = residents.list_residents(conn)
    if args.json:
        print(json.dumps([asdict(r) for r in found], default=str))
        return 0
    print(f"{'id':>5}  {'monitored':9}  {'room':10}  name")
    for r in found:
        print(f"{r.id:>5}  {'yes' if r.monitored else 'no':9}  {r.room or '-':10}  {r.name}")
    return 0


def _update_parser(actions: Sub) -> None:
    p = actions.add_parser("update", help="change a resident")
    p.add_argument("resident", help="id or name")
    p.add_argument("--name")
    p.add_argument("--room")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--monitor", dest="monitored", action="store_const", const=True)
    state.add_argument("--unmonitor", dest="monitored", action="store_const", const=False)
    p.set_defaults(handler=update)


def update(args: argparse.Namespace, config: Config) -> int:
    with audit.cli_transaction(config) as conn:
        found = residents.find_resident(conn, args.resident)
        resident = residents.update_resident(conn, found.id, name=args.name, room=args.room, monitored=args.monitored)
    print(f"updated resident {resident.id} {resident.name!r}")
    return 0


def _remove_parser(actions: Sub) -> None:
    p = actions.add_parser("remove", help="delete a resident and every expression event recorded for them")
    p.add_argument("resident", help="id or name")
    p.add_argument("--yes", action="store_true", help="confirm deleting their recorded events too")
    p.set_defaults(handler=remove)


def remove(args: argparse.Namespace, config: Config) -> int:
    with audit.cli_transaction(config) as conn:
        found = residents.find_resident(conn, args.resident)
        events = residents.count_events(conn, found.id)
        if events and not args.yes:
            raise ValidationError(f"resident {found.id} has {events} recorded events; add --yes to delete them too")
        residents.remove_resident(conn, found.id)
    print(f"removed resident {found.id} {found.name!r} and {events} recorded events")
    return 0
