"""The model file format: safetensors weights beside JSON metadata, refused clearly when they do not fit."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from affectwatch.exceptions import AffectWatchError, ModelError
from worker.models.classifier import ExpressionClassifier
from worker.models.modelfile import ModelMeta, load_model, save_model
from worker.models.nets import build, fold_batch_norms


def save(path: Path, arch: str = "facenet48", labels: tuple[str, ...] = ("happy", "neutral", "sad")) -> Path:
    torch.manual_seed(0)
    save_model(build(arch, len(labels), 0.5, 0.25), ModelMeta(path.stem, arch, list(labels), 48), path)
    return path


def test_metadata_round_trips_and_synonyms_become_labels(tmp_path: Path) -> None:
    path = save(tmp_path / "m.safetensors", labels=("Happiness", "calm", "sadness"))
    net, meta = load_model(path)
    assert meta.labels == ["happy", "neutral", "sad"]
    assert json.loads(path.with_suffix(".json").read_text()) == asdict(meta)
    assert net(torch.rand(2, 1, 48, 48)).shape == (2, 3)


def test_the_classifier_spreads_probabilities_over_the_eight(tmp_path: Path, astronaut: np.ndarray) -> None:
    torch.set_num_threads(1)
    [expression] = ExpressionClassifier(save(tmp_path / "m.safetensors")).predict([astronaut])
    assert expression.label in {"happy", "neutral", "sad"}
    assert expression.probs["contempt"] is None
    assert sum(p for p in expression.probs.values() if p is not None) == pytest.approx(1.0, abs=1e-5)
    assert expression.confidence == max(p for p in expression.probs.values() if p is not None)


def test_label_offsets_move_the_probabilities_and_the_label(tmp_path: Path, astronaut: np.ndarray) -> None:
    """A model's label_bias is added to its logits after the temperature: a large offset for one label makes it
    the face's label, and the metadata keeps it."""
    torch.set_num_threads(1)
    path = save(tmp_path / "m.safetensors")
    plain = ExpressionClassifier(path).predict([astronaut])[0]
    meta = json.loads(path.with_suffix(".json").read_text())
    least = min(("happy", "neutral", "sad"), key=lambda label: plain.probs[label] or 0.0)
    bias = [50.0 if label == least else 0.0 for label in ("happy", "neutral", "sad")]
    path.with_suffix(".json").write_text(json.dumps({**meta, "label_bias": bias}))
    [moved] = ExpressionClassifier(path).predict([astronaut])
    assert moved.label == least and moved.confidence == pytest.approx(1.0, abs=1e-6)
    _, loaded = load_model(path)
    assert loaded.label_bias == bias
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    assert torch.allclose(loaded.calibrated(logits), logits / loaded.temperature + torch.tensor(bias))


def test_weights_are_readable_as_the_metadata_is(tmp_path: Path) -> None:
    """safetensors writes its files owner-only (0600); a worker running as another user (the image's
    affectwatch user reading a model trained on the host) must read the weights as it reads the metadata."""
    old = os.umask(0o022)
    try:
        path = save(tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(path.with_suffix(".json").stat().st_mode) == 0o644


def test_missing_metadata_is_refused(tmp_path: Path) -> None:
    path = save(tmp_path / "m.safetensors")
    path.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match=r"metadata .* is missing"):
        load_model(path)


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    path = save(tmp_path / "m.safetensors")
    meta = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**meta, "arch": "facenet48-wide"}))
    with pytest.raises(ModelError, match="do not fit architecture 'facenet48-wide'"):
        load_model(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": ["happy", "happiness"]}, "repeats a label"),
        ({"labels": ["happy", "bored"]}, "'bored' is not one of"),
        ({"colour": "rgb"}, "only grey input"),
        ({"temperature": 0}, "temperature must be positive"),
        ({"template": [[1.0, 2.0, 3.0]]}, "template must be a list of"),
        ({"template": [5]}, "template must be a list of"),
        ({"label_bias": [0.5]}, "label_bias must hold one finite number for each of its 2 labels"),
        ({"label_bias": [0.5, "x"]}, "label_bias must hold"),
        ({"arch": "vgg99"}, "unknown architecture 'vgg99'"),
        ({"unknown_field": 1}, "does not fit"),
    ],
)
def test_bad_metadata_is_refused(tmp_path: Path, change: dict[str, object], message: str) -> None:
    path = save(tmp_path / "m.safetensors", labels=("happy", "sad"))
    meta = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**meta, **change}))
    with pytest.raises(AffectWatchError, match=message):
        load_model(path)


@pytest.mark.parametrize("arch", ["facenet48", "facenet48-res", "mirror:facenet48,facenet48-fc"])
def test_folding_batch_norms_keeps_the_networks_outputs(arch: str) -> None:
    torch.manual_seed(0)
    net = build(arch, 8, 0.5, 0.25)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):  # statistics as training leaves them, not the identity
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    net.eval()
    x = torch.rand(5, 1, 48, 48)
    with torch.inference_mode():
        want = net(x)
        folded = fold_batch_norms(net)
        assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules()) == 0
        torch.testing.assert_close(folded(x), want, atol=1e-4, rtol=1e-4)


def test_batch_norms_are_folded_only_for_inference() -> None:
    with pytest.raises(ModelError):
        fold_batch_norms(build("facenet48", 8, 0.5, 0.25).train())
