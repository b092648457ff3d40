"""`affectwatch user create|list|password|disable`: dashboard accounts from the command line.

The first administrator is made here: `affectwatch user create --admin` asks for the name (or takes it
as an argument) and for the password twice (or reads it from --password-file / AFFECTWATCH_NEW_PASSWORD(_FILE)
for scripts). The rules are those the dashboard applies, in affectwatch.accounts.
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from affectwatch import audit
from affectwatch.accounts import ROLES, create_account, hash_password, password_problem
from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.exceptions import AuthError, FieldErrors, NotFoundError
from affectwatch.queries import users as q


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("user", help="dashboard accounts: create, list, password, disable")
    inner = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    c = inner.add_parser("create", help="add an account (--admin for an administrator)")
    c.add_argument("username", nargs="?", help="the sign-in name (asked for when left out)")
    role = c.add_mutually_exclusive_group()
    role.add_argument("--admin", action="store_const", const="admin", dest="role", help="an administrator")
    role.add_argument("--role", choices=ROLES, help="role (default: staff)")
    c.add_argument("--name", default="", help="full name shown in the dashboard")
    c.add_argument("--password-file", type=Path, help="read the password from this file's first line")
    c.set_defaults(handler=create)
    ls = inner.add_parser("list", help="list accounts")
    ls.set_defaults(handler=list_users)
    pw = inner.add_parser("password", help="set an account's password (ends its sessions)")
    pw.add_argument("username")
    pw.add_argument("--password-file", type=Path)
    pw.set_defaults(handler=set_password)
    d = inner.add_parser("disable", help="stop an account from signing in (ends its sessions)")
    d.add_argument("username")
    d.set_defaults(handler=disable)


def read_password(path: Path | None, configured: str = "") -> str:
    """From --password-file, else the configured AFFECTWATCH_NEW_PASSWORD, else asked twice on the terminal."""
    if path is not None:
        try:
            return path.read_text().splitlines()[0] if path.read_text() else ""
        except OSError as exc:
            raise AuthError(f"cannot read {path}: {exc.strerror}") from exc
    if configured:
        return configured
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise AuthError("the two passwords differ")
    return first


def read_username(given: str | None) -> str:
    """The name given on the command line, or asked for on the terminal."""
    if given is not None:
        return given.strip()
    try:
        name = input("User name: ").strip()
    except EOFError as exc:
        raise FieldErrors({"username": "no name was given (affectwatch user create [--admin] NAME)"}) from exc
    if not name:
        raise FieldErrors({"username": "no name was given (affectwatch user create [--admin] NAME)"})
    return name


def create(args: argparse.Namespace, config: Config) -> int:
    role = args.role or "staff"
    username = read_username(args.username)
    with connect(config) as conn:
        audit.bind(conn, audit.cli_actor())
        user_id = create_account(conn, username, read_password(args.password_file, config.new_password), role,
                                 args.name, config.password_hash)
        conn.commit()
    print(f"created {role} account {username} (id {user_id})")
    return 0


def list_users(args: argparse.Namespace, config: Config) -> int:
    with connect(config) as conn:
        for u in q.list_users(conn):
            state = "active" if u["active"] else "disabled"
            print(f"{u['id']:>4}  {u['username']:<24} {u['role']:<8} {state:<8} {u['display_name']}")
    return 0


def _user_id(conn: q.Conn, username: str) -> int:
    found = q.credentials(conn, username)
    if found is None:
        raise NotFoundError(f"no account is named {username!r}")
    return int(found["id"])


def set_password(args: argparse.Namespace, config: Config) -> int:
    password = read_password(args.password_file, config.new_password)
    problem = password_problem(password)
    if problem:
        raise FieldErrors({"password": problem})
    with connect(config) as conn:
        audit.bind(conn, audit.cli_actor())
        user_id = _user_id(conn, args.username)
        q.update_user(conn, user_id, {"password_hash": hash_password(password, config.password_hash)})
        q.delete_user_sessions(conn, user_id)
        conn.commit()
    print(f"password of {args.username} changed; their sessions ended")
    return 0


def disable(args: argparse.Namespace, config: Config) -> int:
    with connect(config) as conn:
        audit.bind(conn, audit.cli_actor())
        user_id = _user_id(conn, args.username)
        q.update_user(conn, user_id, {"active": False})
        q.delete_user_sessions(conn, user_id)
        conn.commit()
    print(f"{args.username} can no longer sign in")
    return 0
