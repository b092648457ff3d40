"""`affectwatch demo`: register a demo resident and a camera playing a video made from real photographs."""

from __future__ import annotations

import argparse
from pathlib import Path

from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import NotFoundError
from affectwatch.queries import cameras, residents

DEMO_CAMERA = "Demo camera"
DEMO_RESIDENT = "Demo resident"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="register a demo camera (a video of real photographs) and its resident")
    p.add_argument("--video", type=Path, default=Path(".cache/demo/demo.mp4"), help="where to write the video")
    p.set_defaults(handler=demo)


def demo(args: argparse.Namespace, config: Config) -> int:
    from affectwatch.demo import write_demo_video

    video = args.video.resolve()
    if not video.exists():
        write_demo_video(video)
    with transaction(config) as conn:
        try:
            camera = cameras.get_camera_by_name(conn, DEMO_CAMERA)
            print(f"demo camera {camera.id} is registered: {camera.source}")
            return 0
        except NotFoundError:
            pass
        resident = residents.add_resident(conn, DEMO_RESIDENT, room="demo", monitored=True)
        camera = cameras.add_camera(conn, DEMO_CAMERA, str(video), location="demo room",
                                    sample_fps=config.sample_fps, resident_id=resident.id)
    print(f"registered demo camera {camera.id} ({video}) watching resident {resident.id}")
    return 0
