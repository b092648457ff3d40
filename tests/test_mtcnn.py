"""worker.models.mtcnn: MTCNN's algorithm with OpenCV resampling agrees with facenet-pytorch's own."""

from __future__ import annotations

import itertools
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from facenet_pytorch import MTCNN

from worker.models import mtcnn


@pytest.fixture(scope="module")
def reference() -> Any:
    return MTCNN(keep_all=True, min_face_size=40, post_process=False)


def group(photo: np.ndarray) -> np.ndarray:
    """Four copies of the photo at different sizes on a grey 1280 x 720 canvas."""
    canvas = np.full((720, 1280, 3), 90, np.uint8)
    for i, side in enumerate((420, 300, 210, 150)):
        x = 20 + sum((420, 300, 210, 150)[:i]) + 20 * i
        canvas[40 : 40 + side, x : x + side] = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
    return canvas


def test_pyramid_is_mtcnns() -> None:
    scales = mtcnn.pyramid(480, 640, 20, 0.709)
    assert scales[0] == pytest.approx(0.6)
    assert all(b / a == pytest.approx(0.709) for a, b in itertools.pairwise(scales))
    assert 480 * scales[-1] >= 12 > 480 * scales[-1] * 0.709


@pytest.mark.parametrize("scene", ["photo", "group"])
def test_finds_the_faces_facenet_pytorch_finds(reference: Any, astronaut: np.ndarray, scene: str) -> None:
    rgb = astronaut if scene == "photo" else group(astronaut)
    want, want_p, want_points = reference.detect(rgb, landmarks=True)
    nets = (reference.pnet, reference.rnet, reference.onet)
    boxes, probs, points = mtcnn.detect(rgb, nets, mtcnn.Stages(40))
    assert len(boxes) == len(want) >= 1
    order, want_order = np.argsort(boxes[:, 0]), np.argsort(want[:, 0])
    side = want[:, 2] - want[:, 0]
    assert np.all(np.abs(boxes[order] - want[want_order]) < 0.08 * side[want_order, None])
    assert np.allclose(probs[order], want_p[want_order].astype(float), atol=0.02)
    assert np.all(np.abs(points[order] - want_points[want_order]) < 0.05 * side[want_order, None, None])


def test_a_frame_without_faces_gives_empty_arrays(reference: Any) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (360, 480, 3), dtype=np.uint8)
    boxes, probs, points = mtcnn.detect(noise, (reference.pnet, reference.rnet, reference.onet), mtcnn.Stages(40))
    assert boxes.shape == (0, 4) and probs.shape == (0,) and points.shape == (0, 5, 2)


def test_boxes_off_the_frame_are_clamped_before_cropping() -> None:
    image = np.zeros((50, 60, 3), np.float32)
    boxes = torch.tensor([[-30.0, -20.0, 10.0, 20.0], [55.0, 45.0, 90.0, 80.0], [70.0, 60.0, 80.0, 70.0]])
    out = mtcnn.crops(image, boxes, 24)
    assert out.shape == (3, 24, 24, 3)
