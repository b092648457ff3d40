"""worker.models.mtcnn: MTCNN's algorithm with OpenCV resampling agrees with facenet-pytorch's own."""

from __future__ import annotations

import itertools
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from facenet_pytorch import MTCNN

from tests import faceset
from worker.models import mtcnn
from worker.models.detector import FaceDetector


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


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


@pytest.mark.parametrize("name", ["astronaut", "hopper", "camera", "group", "coffee"])
def test_the_workers_faster_detector_finds_the_faces_mtcnn_finds(name: str) -> None:
    """The worker's detector (pyramid levels from halvings, R-Net's boxes merged at IoU 0.6) against facenet-pytorch's
    own MTCNN with the worker's pyramid settings and MTCNN's stages: the same faces, each box on the same face."""
    photos = faceset.photos()
    rgb = group(photos["astronaut"]) if name == "group" else photos[name]
    detector = FaceDetector()
    detector.load()
    s = detector.settings
    assert s.refine_nms < 0.7  # not MTCNN's own: what this test is for
    reference = MTCNN(keep_all=True, min_face_size=s.min_face_size, factor=s.scale_step,
                      thresholds=[s.proposal_threshold, 0.7, 0.7], post_process=False)
    boxes, probs = reference.detect(rgb)
    want = [] if boxes is None else [b for b, p in zip(boxes, probs, strict=True) if p >= s.threshold]
    got = [np.array(face.box) for face in detector.predict(rgb)]
    assert len(got) == len(want) == {"coffee": 0, "group": 4}.get(name, 1)
    for box in want:
        assert max(iou(box, g) for g in got) > 0.75


def test_pyramid_levels_read_from_halvings_match_the_whole_image(astronaut: np.ndarray) -> None:
    image = np.asarray(astronaut, np.float32)
    halves = [image]
    for size in ((154, 154), (100, 100), (65, 65), (20, 20)):
        got = mtcnn.level(halves, size)
        want = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        assert got.shape == want.shape
        assert np.abs(got - want).mean() < 2.0 and np.abs(got - want).max() < 20  # of 255: a window's edges only
    assert [h.shape[0] for h in halves] == [512, 256, 128, 64]  # each level read from one at least 4x its size
    assert np.array_equal(mtcnn.level([image], (154, 154)), cv2.resize(image, (154, 154), interpolation=cv2.INTER_AREA))
    odd = [image[:511]]
    mtcnn.level(odd, (20, 20))
    assert len(odd) == 1  # a side of odd length is not halved


def test_the_detectors_settings_come_from_the_configuration() -> None:
    """The worker, enrolment and `evaluate --detect` build the detector from the same settings."""
    from affectwatch.config import Config
    from worker.models.detector import DetectorSettings, detector_settings

    assert detector_settings(Config.from_env({})) == DetectorSettings()
    s = detector_settings(Config.from_env({"AFFECTWATCH_DETECT_REFINE_NMS": "0.7", "AFFECTWATCH_MIN_FACE_SIZE": "30",
                                           "AFFECTWATCH_DETECT_SCALE_STEP": "0.6"}))
    assert (s.refine_nms, s.min_face_size, s.scale_step) == (0.7, 30, 0.6)
