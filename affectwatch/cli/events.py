"""`affectwatch events [--follow]`: watch expression events arrive in Postgres."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.queries.events import recent_faces


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("events", help="print recent expression events (one line per face)")
    p.add_argument("--minutes", type=float, default=10.0, help="start this far back")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--follow", action="store_true", help="keep printing new events as they arrive")
    p.set_defaults(handler=events)


def line(row: dict[str, Any]) -> str:
    box = ",".join(f"{row[k]:.0f}" for k in ("box_x1", "box_y1", "box_x2", "box_y2"))
    return (f"{row['captured_at']:%Y-%m-%d %H:%M:%S.%f}"[:-3] + f"  {row['camera'] or '-':<16} "
            f"{row['resident'] or '-':<16} {row['expression']:<9} {row['confidence']:.2f}  box {box}")


def events(args: argparse.Namespace, config: Config) -> int:
    after = datetime.now(UTC) - timedelta(minutes=args.minutes)
    with connect(config, autocommit=True) as conn:
        while True:
            rows = recent_faces(conn, after, args.limit)
            for row in rows:
                print(line(row), flush=True)
            after = rows[-1]["captured_at"] if rows else after
            if not args.follow:
                return 0
            time.sleep(1.0)
