"""`affectwatch camera add|list|update|remove|test`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TypeAlias

from affectwatch import audit, identity
from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.queries import cameras
from affectwatch.queries import identity as identity_q
from affectwatch.queries.camera_status import list_status
from affectwatch.queries.residents import find_resident
from affectwatch.sources import SourcePolicy, redact

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: Sub) -> None:
    p = sub.add_parser("camera", help="register and manage cameras")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_parser(actions)
    _list_parser(actions)
    _update_parser(actions)
    _remove_parser(actions)
    _test_parser(actions)


def _add_parser(actions: Sub) -> None:
    p = actions.add_parser("add", help="register a camera")
    p.add_argument("name")
    p.add_argument("source", help="rtsp://…, http(s)://…, /dev/videoN or an index, a video file or an image folder")
    p.add_argument("--location", default="")
    p.add_argument("--fps", type=float, default=None, help="frames/s to sample (default: AFFECTWATCH_SAMPLE_FPS)")
    p.add_argument("--resident", action="append", default=[], metavar="RESIDENT",
                   help="id or name of a resident this camera watches (repeat for several; the first is its main "
                        "resident, to whom every face counts while none of them is enrolled)")
    p.add_argument("--disabled", action="store_true", help="register it without capturing yet")
    p.set_defaults(handler=add)


def add(args: argparse.Namespace, config: Config) -> int:
    with audit.cli_transaction(config) as conn:
        resident_ids = [find_resident(conn, r).id for r in args.resident]
        fps = config.sample_fps if args.fps is None else args.fps
        camera = cameras.add_camera(conn, args.name, args.source, location=args.location, sample_fps=fps,
                                    enabled=not args.disabled, resident_ids=resident_ids,
                                    policy=SourcePolicy.from_config(config))
    print(f"added camera {camera.id} {camera.name!r}: {redact(camera.source)}")
    return 0


def _list_parser(actions: Sub) -> None:
    p = actions.add_parser("list", help="list cameras with their health")
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(handler=list_all)


def list_all(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        rows = [_row(c) for c in cameras.list_cameras(conn)]
        health = {s.camera_id: s for s in list_status(conn)}
        who = identity_q.camera_identity(conn)
    for row in rows:
        watched = who.get(row["id"], {"resident_ids": [], "enrolled": []})
        row["resident_ids"] = watched["resident_ids"]
        row["identity"] = identity.mode(watched["resident_ids"], watched["enrolled"])
        status = health.get(row["id"])
        row["state"] = status.state if status else "unknown"
        row["frames_sent"] = status.frames_sent if status else 0
    if args.json:
        print(json.dumps(rows, default=str))
    else:
        _print_table(rows)
    return 0


def _row(camera: cameras.Camera) -> dict[str, Any]:
    return {"id": camera.id, "name": camera.name, "source": redact(camera.source), "location": camera.location,
            "sample_fps": round(camera.sample_fps, 3), "enabled": camera.enabled, "resident_id": camera.resident_id}


def _print_table(rows: list[dict[str, Any]]) -> None:
    columns = ["id", "name", "enabled", "state", "sample_fps", "residents", "location", "source", "identity"]
    for r in rows:
        r["residents"] = ",".join(str(i) for i in r["resident_ids"]) or None
    table = [[str(r[c]) if r[c] is not None else "-" for c in columns] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(columns)]
    for line in [columns, *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _update_parser(actions: Sub) -> None:
    p = actions.add_parser("update", help="change a camera (picked up by a running producer)")
    p.add_argument("camera", help="id or name")
    p.add_argument("--name")
    p.add_argument("--source")
    p.add_argument("--location")
    p.add_argument("--fps", type=float)
    state = p.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)
    who = p.add_mutually_exclusive_group()
    who.add_argument("--resident", action="append", default=[], metavar="RESIDENT",
                     help="id or name of a resident this camera watches (repeat for several; replaces its residents)")
    who.add_argument("--no-resident", action="store_true", help="watch no particular resident")
    p.set_defaults(handler=update)


def update(args: argparse.Namespace, config: Config) -> int:
    with audit.cli_transaction(config) as conn:
        camera = cameras.find_camera(conn, args.camera)
        resident_ids: list[int] | cameras.Keep = cameras.KEEP
        if args.resident:
            resident_ids = [find_resident(conn, r).id for r in args.resident]
        elif args.no_resident:
            resident_ids = []
        camera = cameras.update_camera(conn, camera.id, name=args.name, source=args.source, location=args.location,
                                       sample_fps=args.fps, enabled=args.enabled, resident_ids=resident_ids,
                                       policy=SourcePolicy.from_config(config))
    print(f"updated camera {camera.id} {camera.name!r}")
    return 0


def _remove_parser(actions: Sub) -> None:
    p = actions.add_parser("remove", help="delete a camera (its recorded events stay)")
    p.add_argument("camera", help="id or name")
    p.set_defaults(handler=remove)


def remove(args: argparse.Namespace, config: Config) -> int:
    with audit.cli_transaction(config) as conn:
        camera = cameras.remove_camera(conn, cameras.find_camera(conn, args.camera).id)
    print(f"removed camera {camera.id} {camera.name!r}")
    return 0


def _test_parser(actions: Sub) -> None:
    p = actions.add_parser("test", help="grab one frame from a camera or a source and save it as JPEG")
    p.add_argument("camera", help="id or name of a registered camera, or a source")
    p.add_argument("--out", type=Path, default=Path("camera-test.jpg"))
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a frame")
    p.set_defaults(handler=test)


def test(args: argparse.Namespace, config: Config) -> int:
    from affectwatch.capture import grab_frame

    source = _source_of(args.camera, config)
    jpeg = grab_frame(source, args.timeout, SourcePolicy.from_config(config))
    args.out.write_bytes(jpeg)
    print(f"grabbed a frame from {redact(source)}: {len(jpeg)} bytes -> {args.out}")
    return 0


def _source_of(key: str, config: Config) -> str:
    """The source of the camera with this id or name; else the text itself, taken as a source."""
    from affectwatch.exceptions import NotFoundError

    try:
        with transaction(config) as conn:
            return cameras.find_camera(conn, key).source
    except NotFoundError:
        return key
