"""`affectwatch token create|list|revoke`: API tokens for scripts and integrations (affectwatch.tokens)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from affectwatch import tokens
from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import NotFoundError
from affectwatch.queries import users


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("token", help="API tokens (Authorization: Bearer): create, list, revoke")
    inner = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    c = inner.add_parser("create", help="make a token for an account; it is printed once, keep it secret")
    c.add_argument("username")
    c.add_argument("--name", required=True, help="what or who uses the token (shown in lists)")
    c.add_argument("--days", type=int, help="expire after this many days (default: never)")
    c.set_defaults(handler=create)
    ls = inner.add_parser("list", help="tokens (never their secrets), newest first")
    ls.add_argument("username", nargs="?", help="only this account's")
    ls.set_defaults(handler=list_tokens)
    r = inner.add_parser("revoke", help="stop a token from working")
    r.add_argument("token", type=int, help="its id (from `token list`)")
    r.set_defaults(handler=revoke)


def _user_id(conn: users.Conn, username: str) -> int:
    row = users.credentials(conn, username)
    if row is None:
        raise NotFoundError(f"no account named {username!r}")
    return int(row["id"])


def create(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        secret, token = tokens.create(conn, _user_id(conn, args.username), args.name, datetime.now(UTC), args.days)
    print(f"token {token.id} ({token.name}) for {token.username}; shown once, keep it secret:")
    print(secret)
    return 0


def list_tokens(args: argparse.Namespace, config: Config) -> int:
    now = datetime.now(UTC)
    with transaction(config) as conn:
        found = tokens.listing(conn, _user_id(conn, args.username) if args.username else None)
    print(f"{'id':>4}  {'state':8}  {'user':16}  {'prefix':10}  {'last used (UTC)':16}  name")
    for t in found:
        used = f"{t.last_used_at.astimezone(UTC):%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        print(f"{t.id:>4}  {tokens.state(t, now):8}  {t.username:16}  {t.prefix:10}  {used:16}  {t.name}")
    return 0


def revoke(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        token = tokens.revoke(conn, args.token, datetime.now(UTC))
    print(f"token {token.id} ({token.name}) of {token.username} revoked")
    return 0
