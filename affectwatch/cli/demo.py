"""`affectwatch demo`: register a demo resident and a camera playing a video made from real photographs."""

from __future__ import annotations

import argparse
from pathlib import Path

from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import NotFoundError
from affectwatch.queries import cameras, residents
from affectwatch.sources import SourcePolicy

DEMO_CAMERA = "Demo camera"
DEMO_RESIDENT = "Demo resident"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="register a demo camera (a video of real photographs) and its resident")
    p.add_argument("--video", type=Path,
                   help="where to write the video (default: demo/demo.mp4 in AFFECTWATCH_MEDIA_ROOT)")
    p.set_defaults(handler=demo)


def demo(args: argparse.Namespace, config: Config) -> int:
    from affectwatch.demo import write_demo_video

    video = (args.video or config.media_root / "demo" / "demo.mp4").expanduser().resolve()
    if not video.exists():
        write_demo_video(video)
    policy = SourcePolicy.from_config(config)
    with transaction(config) as conn:
        try:
            camera = cameras.get_camera_by_name(conn, DEMO_CAMERA)
        except NotFoundError:
            pass
        else:
            if camera.source != str(video):  # registered by an older version, outside the media folder
                camera = cameras.update_camera(conn, camera.id, source=str(video), policy=policy)
            print(f"demo camera {camera.id} is registered: {camera.source}")
            return 0
        resident = residents.add_resident(conn, DEMO_RESIDENT, room="demo", monitored=True)
        camera = cameras.add_camera(conn, DEMO_CAMERA, str(video), location="demo room",
                                    sample_fps=config.sample_fps, resident_id=resident.id, policy=policy)
    print(f"registered demo camera {camera.id} ({video}) watching resident {resident.id}")
    return 0
