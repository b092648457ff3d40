"""The pure image functions, and that worker, training and evaluation share one preprocessing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from affectwatch.exceptions import FrameError
from modeling.datasets import load_faces
from modeling.evaluation import predict_logits
from tests import faceset
from worker.facecrop import face_crop, largest_face_crop
from worker.models.classifier import ExpressionClassifier, batch_tensor
from worker.models.detector import Face
from worker.models.modelfile import ModelMeta, save_model
from worker.models.nets import build
from worker.preprocess import (
    FER_TEMPLATE,
    Framing,
    Image,
    align_face,
    crop_face,
    decode_jpeg,
    face_input,
    resize_for_detection,
    similarity,
    to_grey,
    to_rgb,
)


@pytest.fixture()
def colour_crop(astronaut: Image) -> Image:
    return crop_face(astronaut, (180.0, 61.0, 268.0, 172.0), 0.2)  # MTCNN's box of her face


def test_colour_crops_and_small_grey_faces_give_the_same_shape_and_range(colour_crop: Image) -> None:
    grey48 = np.asarray(cv2.resize(to_grey(colour_crop), (48, 48), interpolation=cv2.INTER_AREA), np.uint8)
    lfw25 = faceset.lfw_faces(1)[0]
    rgba: Image = np.dstack([colour_crop, colour_crop[:, :, :1]])
    for face in (colour_crop, grey48, lfw25, to_rgb(lfw25), rgba):
        x = face_input(face, 48)
        assert x.shape == (48, 48) and x.dtype == np.float32
        assert 0.0 <= x.min() < x.max() <= 1.0
    assert np.array_equal(face_input(grey48, 48), grey48 / np.float32(255))  # a 48x48 grey face is kept as it is


def test_a_grey_face_reads_the_same_as_its_three_channel_copy() -> None:
    grey = faceset.lfw_faces(1)[0]
    assert np.array_equal(face_input(grey, 48), face_input(to_rgb(grey), 48))


def test_colour_becomes_luma(colour_crop: Image) -> None:
    r, g, b = (colour_crop[:, :, i].astype(np.float64) for i in range(3))
    assert np.abs(to_grey(colour_crop) - (0.299 * r + 0.587 * g + 0.114 * b)).max() <= 1.0


def test_worker_training_and_evaluation_feed_the_network_identical_tensors(colour_crop: Image,
                                                                          tmp_path: Path) -> None:
    faceset.write_image(tmp_path / "data" / "happy" / "a.png", colour_crop)  # PNG: lossless
    training = torch.from_numpy(load_faces(tmp_path / "data", 48).images).unsqueeze(1).float() / 255.0
    worker = batch_tensor([colour_crop], 48)
    assert torch.equal(training, worker)
    weights = tmp_path / "m.safetensors"
    save_model(build("facenet48", 2, 0.5, 0.25), ModelMeta("m", "facenet48", ["happy", "sad"], 48), weights)
    clf = ExpressionClassifier(weights)
    faces = load_faces(tmp_path / "data", 48)
    assert torch.equal(predict_logits(clf, faces), clf.logits(worker))


def test_crop_face_is_square_with_the_margin_and_padded_at_edges(astronaut: Image) -> None:
    inside = crop_face(astronaut, (100.0, 100.0, 200.0, 180.0), 0.2)
    assert inside.shape == (120, 120, 3)
    assert np.array_equal(inside, astronaut[80:200, 90:210])
    edge = crop_face(astronaut, (-20.0, 450.0, 60.0, 530.0), 0.0)
    assert edge.shape == (80, 80, 3)
    assert np.array_equal(edge[0, 20], astronaut[450, 0])  # replicated from the frame's edge
    assert crop_face(to_grey(astronaut), (10.0, 10.0, 50.0, 50.0), 0.5).shape == (60, 60)


def test_decode_and_detection_scale(astronaut: Image) -> None:
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    assert ok
    rgb = decode_jpeg(jpeg.tobytes())
    assert rgb.shape == (512, 512, 3) and np.abs(rgb.astype(int) - astronaut).mean() < 3  # RGB order kept
    small, scale = resize_for_detection(rgb, 256)
    assert small.shape == (256, 256, 3) and scale == 0.5
    with pytest.raises(FrameError):
        decode_jpeg(b"not an image")
    tall_bmp = b"BM" + bytes(12) + (40).to_bytes(4, "little") + (1).to_bytes(4, "little") + (1 << 24).to_bytes(
        4, "little") + (1).to_bytes(2, "little") + (24).to_bytes(2, "little") + bytes(24)  # found by the fuzzer
    with pytest.raises(FrameError, match="not a decodable image"):
        decode_jpeg(tall_bmp)
    with pytest.raises(FrameError):
        face_input(np.zeros((0, 0), np.uint8), 48)


def test_similarity_recovers_a_rotation_scale_and_shift() -> None:
    angle, scale, shift = np.radians(25.0), 2.5, np.array([40.0, -7.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = np.array(FER_TEMPLATE)
    dst = src @ (scale * rot).T + shift
    assert np.allclose(similarity(src, dst), np.hstack([scale * rot, shift[:, None]]), atol=1e-9)
    mirrored = src * [-1.0, 1.0]  # a reflection is not a similarity: the best fit still has a positive determinant
    assert np.linalg.det(similarity(src, mirrored)[:, :2]) > 0


def test_align_face_puts_the_landmarks_on_the_template_at_the_faces_own_resolution() -> None:
    template = np.array(FER_TEMPLATE)
    warp = cv2.getRotationMatrix2D((24.0, 29.0), 30.0, 4.0)  # the template face, 4x larger, turned 30 degrees
    marks = np.hstack([template, np.ones((5, 1))]) @ warp.T + [300.0, 200.0]
    image = np.zeros((480, 640), np.uint8)
    for x, y in marks:
        cv2.circle(image, (round(x), round(y)), 6, 255, -1)
    aligned = align_face(image, marks, FER_TEMPLATE, 48)
    assert aligned.shape == (192, 192)  # 48 / scale: the face keeps its pixels for face_input to shrink
    small = face_input(aligned, 48)
    for x, y in FER_TEMPLATE:
        assert small[round(y), round(x)] > 0.5  # each landmark dot lands on its template point
    with pytest.raises(FrameError):
        align_face(image, np.zeros((5, 2)), FER_TEMPLATE, 48)  # five points in one place fix no alignment


def test_the_worker_levels_a_tilted_face_by_its_landmarks(astronaut: Image) -> None:
    tilted = np.asarray(cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((224.0, 116.0), 25.0, 1.0), (512, 512),
                                       borderMode=cv2.BORDER_REPLICATE), np.uint8)
    detector = faceset.detector()
    face = max(detector.predict(tilted), key=lambda f: f.probability)
    (lx, ly), (rx, ry) = face.landmarks[:2]
    assert abs(np.degrees(np.arctan2(ry - ly, rx - lx))) > 15  # MTCNN sees the tilt
    aligned = largest_face_crop(detector, tilted, Framing(template=FER_TEMPLATE))
    assert aligned is not None
    again = max(detector.predict(cv2.resize(aligned, (160, 160))), key=lambda f: f.probability)
    (lx, ly), (rx, ry) = again.landmarks[:2]
    assert abs(np.degrees(np.arctan2(ry - ly, rx - lx))) < 6  # level after alignment
    boxed = face_crop(tilted, Face(face.box, face.probability), Framing(template=FER_TEMPLATE))
    assert boxed.shape[0] == boxed.shape[1] == round(max(face.box[2] - face.box[0], face.box[3] - face.box[1]) * 1.2)
