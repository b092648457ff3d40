"""The `affectwatch` command line: the one home of every subcommand, one module per area, and the only code that
imports the process packages (producer, worker, dashboard, notifier, upkeep, modeling; docs/architecture.md).

Each module has register(subparsers); each command sets `handler(args, config) -> int`. `main` (cli/main.py)
parses the arguments and runs the command.
"""

from affectwatch.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
