"""The shipped default model: it loads, fits the worker, and reads a smiling photograph as happy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from affectwatch.labels import LABELS
from tests import faceset
from worker.facecrop import largest_face_crop
from worker.models.classifier import ExpressionClassifier
from worker.models.modelfile import DEFAULT_MODEL, load_model, read_meta
from worker.models.nets import known
from worker.preprocess import FER_TEMPLATE, face_input

pytestmark = pytest.mark.skipif(
    not DEFAULT_MODEL.exists(),
    reason=f"the shipped model {DEFAULT_MODEL} is not committed yet (its training is still running)",
)

MAX_BYTES = 25 * 1024 * 1024


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def test_it_loads_and_its_metadata_fits_the_worker() -> None:
    assert DEFAULT_MODEL.stat().st_size <= MAX_BYTES
    net, meta = load_model(DEFAULT_MODEL)
    assert known(meta.arch)
    assert set(meta.labels) <= set(LABELS) and meta.labels == [x for x in LABELS if x in meta.labels]
    assert meta.labels == list(LABELS)  # all eight, contempt too (FER+'s annotators chose it)
    assert meta.colour == "grey" and 32 <= meta.input_size <= 128
    assert meta.temperature > 0 and 0 <= meta.margin <= 1
    assert meta.framing.template == FER_TEMPLATE  # the worker aligns faces as the model's training faces were
    with torch.inference_mode():
        assert net(torch.rand(2, 1, meta.input_size, meta.input_size)).shape == (2, len(meta.labels))


def test_its_metadata_records_how_it_was_measured() -> None:
    extra = read_meta(DEFAULT_MODEL).extra
    assert 0 < extra["val_accuracy"] <= 1
    assert 0 <= extra["ece_after"] <= extra["ece_before"] <= 1


def test_a_smiling_photograph_is_happy() -> None:
    clf = ExpressionClassifier(DEFAULT_MODEL)
    crop = largest_face_crop(faceset.detector(), faceset.photos()["astronaut"], clf.meta.framing)
    assert crop is not None
    [expression] = clf.predict([crop])
    assert expression.label == "happy", expression


def test_the_workers_folded_network_reads_as_the_stored_one() -> None:
    """The worker folds batch norms into the convolutions (speed): the same logits, to float rounding, on real faces."""
    net, meta = load_model(DEFAULT_MODEL)
    clf = ExpressionClassifier(DEFAULT_MODEL)
    clf.load()
    assert clf.net is not None
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in clf.net.modules())
    faces = torch.from_numpy(np.stack([face_input(c, meta.input_size) for c in faceset.crops().values()]))[:, None]
    with torch.inference_mode():
        torch.testing.assert_close(clf.logits(faces), net(faces), atol=1e-4, rtol=1e-4)
