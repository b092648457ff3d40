"""The networks kept in candidates/ between sessions (docs/model-card.md) still load and split into a network
that `affectwatch train --init` can start from: the next session trains them on, so they must not rot as
the code changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from worker.ensemble import split
from worker.models.modelfile import load_model
from worker.models.nets import ARCHITECTURES

CANDIDATES = sorted((Path(__file__).resolve().parent.parent / "candidates").glob("*.safetensors"))


@pytest.mark.parametrize("weights", CANDIDATES, ids=lambda path: path.name)
def test_a_candidate_splits_into_a_network_to_train_on(weights: Path, tmp_path: Path) -> None:
    joined, meta = load_model(weights)
    [part] = split(weights, tmp_path)
    net, part_meta = load_model(part)
    assert part_meta.arch == meta.arch.removeprefix("mirror:") and part_meta.arch in ARCHITECTURES
    faces = torch.rand(3, 1, meta.input_size, meta.input_size)
    with torch.no_grad():
        one, both = net.eval()(faces), joined.eval()(faces)
    assert one.shape == both.shape == (3, len(meta.labels)) and bool(torch.isfinite(both).all())
