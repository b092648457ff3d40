"""The `affectwatch` command line: one entry point for every process and tool."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from affectwatch import logs
from affectwatch.config import Config
from affectwatch.exceptions import AffectWatchError

COMMAND_MODULES = (
    "affectwatch.cli.setup",
    "affectwatch.cli.cameras",
    "affectwatch.cli.residents",
    "affectwatch.cli.users",
    "affectwatch.cli.tokens",
    "affectwatch.cli.producer",
    "affectwatch.cli.worker",
    "affectwatch.cli.dashboard",
    "affectwatch.cli.alerts",
    "affectwatch.cli.history",
    "affectwatch.cli.model",
    "affectwatch.cli.replay",
    "affectwatch.cli.events",
    "affectwatch.cli.demo",
    "affectwatch.cli.ops",
)

log = logging.getLogger("affectwatch")


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="affectwatch", description="Facial-expression monitoring for care homes.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def configure_logging(level: str, fmt: str = "text") -> None:
    logs.configure(level, fmt)


def main(argv: Sequence[str] | None = None, modules: Sequence[str] = COMMAND_MODULES) -> int:
    """Run one command; modules limits the commands on offer (the model commands alone need only torch)."""
    args = build_parser(modules).parse_args(argv)
    try:
        config = Config.from_env()
        configure_logging(config.log_level, config.log_format)
        return int(args.handler(args, config))
    except AffectWatchError as exc:
        print(f"affectwatch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

