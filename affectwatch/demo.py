"""A demo camera: a video made from real photographs that installed packages ship.

scikit-image ships the astronaut Eileen Collins and matplotlib ships Grace Hopper; both are real
colour photographs of faces. The video moves them slowly across a 640x480 frame.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]


def photographs() -> list[Frame]:
    """The two face photographs, RGB uint8."""
    import matplotlib.cbook
    from skimage import data

    hopper = np.asarray(cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))))
    astronaut: Frame = data.astronaut()  # type: ignore[no-untyped-call]
    return [np.ascontiguousarray(astronaut), np.ascontiguousarray(hopper[:, :, ::-1])]


def compose(photos: list[Frame], step: int, size: tuple[int, int] = (640, 480)) -> Frame:
    """One frame: each photo scaled to fit half the width, drifting a little with step."""
    w, h = size
    canvas = np.full((h, w, 3), 70, np.uint8)
    side = min(w // len(photos) - 20, h - 40)
    for i, photo in enumerate(photos):
        tile = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
        x = 10 + i * (w // len(photos)) + int(8 * np.sin(step / 7 + i))
        y = 20 + int(8 * np.cos(step / 9 + i))
        canvas[y : y + side, x : x + side] = tile
    return canvas


def write_demo_video(path: Path, seconds: float = 10.0, fps: float = 10.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    photos = photographs()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (640, 480))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {path}")
    for step in range(int(seconds * fps)):
        writer.write(cv2.cvtColor(compose(photos, step), cv2.COLOR_RGB2BGR))
    writer.release()
    return path
