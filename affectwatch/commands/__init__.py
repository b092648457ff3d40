"""Subcommands of the `affectwatch` command line, one module per area.

Each module has register(subparsers); each command sets `handler(args, config) -> int`.
"""
