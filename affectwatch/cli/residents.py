"""`affectwatch resident add|list|update|remove|enroll|enrollment|erase`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

from affectwatch import audit
from affectwatch.cli.history import add_erase_parser
from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import ValidationError
from affectwatch.queries import identity, residents

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: Sub) -> None:
    p = sub.add_parser("resident", help="register and manage residents")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_parser(actions)
    _list_parser(actions)
    _update_parser(actions)
    _remove_parser(actions)
    _enroll_parser(actions)
    _enrollment_parser(actions)
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


def _enroll_parser(actions: Sub) -> None:
    p = actions.add_parser("enroll", help="take a resident's face templates from photos (with recorded consent)",
                           description="Each photo must show exactly one clear face; the templates are kept, "
                                       "never the photos. Templates are biometric data: see docs/privacy.md.")
    p.add_argument("resident", help="id or name")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="photos, or folders of photos")
    p.add_argument("--consent-by", required=True, metavar="NAME", help="who gave the consent")
    p.add_argument("--on-behalf-of", default="the resident", metavar="WHOM",
                   help="on whose behalf (default: the resident, giving it themselves)")
    p.add_argument("--consent-date", type=_when, default=None, metavar="ISO",
                   help="when the consent was given (default: now)")
    p.set_defaults(handler=enroll)


def _when(raw: str) -> datetime:
    try:
        when = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an ISO date or time") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def enroll(args: argparse.Namespace, config: Config) -> int:
    from worker import enrolment

    actor = audit.cli_actor()
    consent = identity.check_consent(identity.Consent(args.consent_by, args.consent_date or datetime.now(UTC),
                                                      args.on_behalf_of, actor.name))
    photos = enrolment.read_photos(args.paths)
    with transaction(config) as conn:
        found = residents.find_resident(conn, args.resident)
    templates = enrolment.Enroller(config).templates(photos)  # the models run outside any transaction
    with transaction(config) as conn:
        residents.get_resident(conn, found.id)  # still there
        ids = enrolment.store(conn, found.id, templates, consent, actor)
        total = identity.count_templates(conn, found.id)
    print(f"enrolled resident {found.id} {found.name!r}: {len(ids)} face template(s) from {len(photos)} photo(s), "
          f"{total} in all; the photos were not kept")
    return 0


def _enrollment_parser(actions: Sub) -> None:
    p = actions.add_parser("enrollment", help="list or remove residents' face templates")
    sub = p.add_subparsers(dest="enrollment_action", required=True, metavar="ACTION")
    ls = sub.add_parser("list", help="enrolled residents: templates, when taken, consent")
    ls.add_argument("resident", nargs="?", help="id or name (default: every resident)")
    ls.add_argument("--json", action="store_true", help="one JSON array")
    ls.set_defaults(handler=enrollment_list)
    rm = sub.add_parser("remove", help="delete a resident's face templates and their consent records")
    rm.add_argument("resident", help="id or name")
    rm.set_defaults(handler=enrollment_remove)


def enrollment_list(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        chosen = [residents.find_resident(conn, args.resident)] if args.resident else residents.list_residents(conn)
        rows = [(r, identity.enrolment(conn, r.id)) for r in chosen]
    if args.json:
        print(json.dumps([{"name": r.name, **asdict(e)} for r, e in rows], default=str))
        return 0
    print(f"{'id':>5}  {'templates':9}  {'taken':33}  {'consent by':20}  name")
    for r, e in rows:
        taken = "-" if e.first_taken_at is None or e.last_taken_at is None else \
            f"{e.first_taken_at:%Y-%m-%d %H:%M} .. {e.last_taken_at:%Y-%m-%d %H:%M}"
        print(f"{r.id:>5}  {e.templates:<9}  {taken:33}  {e.consent_by or '-':20}  {r.name}")
    return 0


def enrollment_remove(args: argparse.Namespace, config: Config) -> int:
    from affectwatch.identity import unenrol

    with transaction(config) as conn:
        found = residents.find_resident(conn, args.resident)
        n = unenrol(conn, found.id, audit.cli_actor())
    print(f"removed {n} face template(s) of resident {found.id} {found.name!r}; their faces are no longer matched")
    return 0
