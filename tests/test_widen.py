"""Widening a trained FaceNet (modeling.widen): more channels, the same function, and `train --init` uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from affectwatch.exceptions import ModelError
from modeling.training import Trainer, TrainSettings
from modeling.widen import widen, widens
from worker.models.modelfile import load_model
from worker.models.nets import build

pytestmark = pytest.mark.slow


def trained_like(arch: str, seed: int) -> torch.nn.Module:
    """A network with random weights and random batch-norm statistics, as a trained one has."""
    torch.manual_seed(seed)
    net = build(arch, 7, 0.5, 0.25)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d) and m.running_mean is not None and m.running_var is not None:
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.mark.parametrize(("small", "large"), [("facenet48", "facenet48-wide"), ("facenet48", "facenet48-xl"),
                                              ("facenet48-wide", "facenet48-xl")])
def test_widening_keeps_what_the_network_computes(small: str, large: str) -> None:
    narrow, wide = trained_like(small, 0), trained_like(large, 1)
    assert widens(narrow.state_dict(), wide.state_dict())
    wide.load_state_dict(widen(narrow.state_dict(), wide.state_dict(), noise=0.0))
    x = torch.rand(16, 1, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(wide(x), narrow(x), atol=1e-4, rtol=1e-4)
        wide.load_state_dict(widen(narrow.state_dict(), wide.state_dict(), noise=0.01))
        assert not torch.allclose(wide(x), narrow(x), atol=1e-6)  # the copies differ a little, to be pulled apart
        torch.testing.assert_close(wide(x), narrow(x), atol=0.05, rtol=0.05)


def test_only_a_wider_facenet_of_the_same_depth_is_widened() -> None:
    narrow, wide = trained_like("facenet48", 0).state_dict(), trained_like("facenet48-wide", 1).state_dict()
    assert not widens(wide, narrow) and not widens(narrow, narrow)
    assert not widens(narrow, trained_like("facenet48-fc", 2).state_dict())
    assert not widens(narrow, trained_like("facenet48-res", 3).state_dict())
    with pytest.raises(ModelError, match="cannot widen"):
        widen(wide, narrow)


@pytest.fixture(scope="module")
def narrow(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("narrow") / "narrow.safetensors"
    Trainer(TrainSettings(data=data, out=out, epochs=1, batch_size=8, threads=1, progress=False)).run()
    return out


def test_train_init_widens_a_narrower_model(data: Path, narrow: Path, tmp_path: Path) -> None:
    before, _ = load_model(narrow)
    trainer = Trainer(TrainSettings(data=data, out=tmp_path / "wide.safetensors", arch="facenet48-wide", init=narrow,
                                    progress=False))
    x = trainer.val.x.float() / 255
    with torch.no_grad():
        torch.testing.assert_close(trainer.net.eval()(x), before(x), atol=0.05, rtol=0.05)


def test_train_init_refuses_a_model_of_which_only_the_normalisation_fits(data: Path, narrow: Path,
                                                                         tmp_path: Path) -> None:
    wide = tmp_path / "wide.safetensors"
    Trainer(TrainSettings(data=data, out=wide, arch="facenet48-wide", init=narrow, epochs=1, batch_size=8,
                          threads=1, progress=False)).run()
    with pytest.raises(ModelError, match=r"no weights in .* fit architecture facenet48"):
        Trainer(TrainSettings(data=data, out=tmp_path / "back.safetensors", init=wide, progress=False))
