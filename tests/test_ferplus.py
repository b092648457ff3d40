"""FER+'s layout (images beside label.csv of ten annotators' votes) for training and evaluation, and every image
format Pillow reads: on tiny sets made at test time from real photographs that installed packages ship."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from affectwatch import cli
from affectwatch.exceptions import DataError, ModelError
from affectwatch.labels import LABELS
from modeling.datasets import is_ferplus, load_faces
from modeling.metrics import fit_temperature
from modeling.training import Trainer, TrainSettings
from tests import faceset
from worker.models.classifier import ExpressionClassifier
from worker.models.modelfile import load_model, read_meta

pytestmark = pytest.mark.slow

# FER+'s columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, not-a-face
VOTES = {
    "astronaut": [1, 7, 1, 0, 0, 0, 0, 1, 0, 0],  # happy, with a vote each for neutral, surprise, contempt
    "hopper": [6, 0, 0, 1, 1, 1, 0, 1, 0, 0],  # neutral, and one vote for each of four others
    "camera": [2, 0, 0, 5, 0, 0, 2, 0, 1, 0],  # sad, some fear
}
NOT_A_FACE = [0, 0, 0, 0, 0, 0, 0, 0, 2, 8]


def write_ferplus(root: Path, split: str) -> Path:
    """A FER+ folder: the three faces' copies as fer*.png with their votes, one not-a-face row, one missing image."""
    folder = root / split
    rows = []
    for name, votes in VOTES.items():
        for i, img in enumerate(faceset.variants(faceset.crops()[name], split)):
            file = f"fer{name}{i:03d}.png"
            faceset.write_image(folder / file, img)
            rows.append([file, "(0, 0, 48, 48)", *votes])
    faceset.write_image(folder / "fer9999999.png", faceset.crops()["hopper"])
    rows.append(["fer9999999.png", "(0, 0, 48, 48)", *NOT_A_FACE])
    rows.append(["fer-missing.png", "(0, 0, 48, 48)", *VOTES["hopper"]])
    with (folder / "label.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return folder


@pytest.fixture(scope="module")
def ferplus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ferplus")
    write_ferplus(root, "train")
    write_ferplus(root, "val")
    return root


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def args(data: Path, out: Path, *more: str) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--batch-size", "8", "--threads", "1",
            "--no-progress", "--seed", "3", *more]


@pytest.fixture(scope="module")
def trained(ferplus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "votes.safetensors"
    assert cli.main(args(ferplus, out)) == 0
    return out


def test_a_ferplus_folder_reads_majority_labels_and_the_votes(ferplus: Path) -> None:
    assert is_ferplus(ferplus / "train") and not is_ferplus(ferplus)
    faces = load_faces(ferplus / "train", 48)
    assert faces.votes is not None and faces.votes.shape == (24, 8)
    assert faces.left_out == 2  # the not-a-face row and the row whose image is missing
    assert faces.labels.count("happy") == faces.labels.count("neutral") == faces.labels.count("sad") == 8
    shares = faces.vote_shares()[faces.labels.index("sad")]
    assert shares[LABELS.index("sad")] == pytest.approx(5 / 9) and shares[LABELS.index("fear")] == pytest.approx(2 / 9)


def test_a_malformed_label_csv_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "label.csv").write_text("fer0.png,\"(0, 0, 48, 48)\",1,2,3\n")
    with pytest.raises(DataError, match=r"label.csv line 1: expected a file name, a face box and 10 vote counts"):
        load_faces(tmp_path, 48)


def test_training_on_votes_learns_every_label_an_annotator_chose(trained: Path) -> None:
    """Contempt, anger, disgust and fear are nobody's majority here, but annotators chose them: the model has all
    eight labels, its plan says it learnt the votes, and it serves through the worker's classifier."""
    meta = read_meta(trained)
    assert meta.labels == list(LABELS)
    assert meta.extra["settings"]["targets"] == "votes"
    net, _ = load_model(trained)
    with torch.inference_mode():
        assert net(torch.rand(2, 1, 48, 48)).shape == (2, 8)
    [expression] = ExpressionClassifier(trained).predict([faceset.crops()["astronaut"]])
    assert set(expression.probs) == set(LABELS) and None not in expression.probs.values()
    assert sum(v or 0 for v in expression.probs.values()) == pytest.approx(1, abs=1e-4)


def test_freeze_trains_only_the_blocks_above_the_frozen_ones(trained: Path, ferplus: Path, tmp_path: Path) -> None:
    """--freeze 3 from a trained model: its first three feature blocks (batch norms' statistics included) come out
    as they went in, the last block and the head learn."""
    out = tmp_path / "frozen.safetensors"
    assert cli.main(args(ferplus, out, "--init", str(trained), "--freeze", "3", "--lr", "1e-2")) == 0
    before, _ = load_model(trained)
    after, _ = load_model(out)
    old, new = before.state_dict(), after.state_dict()
    frozen = [k for k in old if k.startswith(("features.0.", "features.1.", "features.2."))]
    learnt = [k for k in old if k.startswith(("features.3.", "head.")) and old[k].is_floating_point()]
    assert frozen and learnt
    assert all(torch.equal(old[k], new[k]) for k in frozen)
    assert any(not torch.equal(old[k], new[k]) for k in learnt)
    assert read_meta(out).extra["settings"]["freeze"] == "3"


@pytest.mark.parametrize("more", [["--freeze", "2"], ["--freeze", "4", "--init", "TRAINED"]])
def test_freeze_needs_a_trained_model_and_a_block_left_to_learn(more: list[str], trained: Path, ferplus: Path,
                                                                 tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="--freeze"):
        Trainer(TrainSettings(data=ferplus, out=tmp_path / "x.safetensors", threads=1, progress=False,
                              freeze=int(more[1]), init=trained if "--init" in more else None))


def test_votes_and_the_majority_are_different_targets(ferplus: Path) -> None:
    """The soft targets are the vote shares; --targets majority trains on one label a face, as class folders do."""
    votes = Trainer(TrainSettings(data=ferplus, out=Path("/nonexistent/a.safetensors"), threads=1, progress=False))
    majority = Trainer(TrainSettings(data=ferplus, out=Path("/nonexistent/b.safetensors"), threads=1,
                                     progress=False, targets="majority"))
    assert votes.soft and not majority.soft
    assert votes.plan["targets"] == "votes" and "targets" not in majority.plan
    sad = votes.labels.index("sad")
    row = votes.train.soft[votes.train.y == sad][0]
    assert float(row[sad]) == pytest.approx(5 / 9) and float(row.sum()) == pytest.approx(1)
    logits = torch.zeros(3, len(votes.labels))
    y = votes.train.y[:3]
    w = torch.ones(3)
    # the same logits cost more against a face's votes than against its majority alone (some votes are elsewhere)
    soft_loss = votes._loss(logits + torch.nn.functional.one_hot(y, 8) * 4, torch.zeros(3), y, w,
                            soft=votes.train.soft[:3])
    hard_loss = majority._loss(logits + torch.nn.functional.one_hot(y, 8) * 4, torch.zeros(3), y, w)
    assert float(soft_loss) > float(hard_loss)


def test_evaluate_scores_a_ferplus_folder_against_the_majority(trained: Path, ferplus: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["evaluate", "--data", str(ferplus / "val"), "--model", str(trained), "--json",
                     "--no-progress", "--confusion", str(tmp_path / "c.png")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 9 and result["annotators"]["left_out"] == 2
    assert set(result["per_class"]) == set(LABELS)  # contempt's recall is reported, however low
    a = result["annotators"]
    for key in ("majority_share_right", "majority_share_missed", "missed_with_an_annotators_vote"):
        assert a[key] is None or 0 <= a[key] <= 1
    assert cli.main(["evaluate", "--data", str(ferplus / "val"), "--model", str(trained), "--no-progress",
                     "--confusion", str(tmp_path / "c.png")]) == 0
    assert "annotators: the majority held" in capsys.readouterr().out


def test_combine_fits_each_labels_offset_to_the_votes(trained: Path, ferplus: Path, tmp_path: Path) -> None:
    """Calibrated on a FER+ folder, the joined model gets one offset a label (summing to zero) with its temperature,
    and fits the annotators' vote shares at least as well as the temperature alone does."""
    out = tmp_path / "joined.safetensors"
    assert cli.main(["combine", str(trained), "--val", str(ferplus / "val"), "--out", str(out), "--label-offsets"]) == 0
    meta = read_meta(out)
    assert meta.label_bias is not None and len(meta.label_bias) == len(meta.labels)
    assert sum(meta.label_bias) == pytest.approx(0, abs=1e-4)
    net, _ = load_model(out)
    faces = load_faces(ferplus / "val", 48)
    shares = torch.from_numpy(faces.vote_shares())
    with torch.no_grad():
        logits = net(torch.from_numpy(faces.images).unsqueeze(1).float() / 255)

    alone = fit_temperature(logits, shares)
    loss = torch.nn.functional.cross_entropy
    assert float(loss(meta.calibrated(logits), shares)) <= float(loss(logits / alone, shares)) + 1e-5


def test_offsets_are_fitted_only_when_asked_and_only_to_votes(trained: Path, ferplus: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    folders = tmp_path / "val"
    for label, path in zip(load_faces(ferplus / "val", 48).labels, sorted((ferplus / "val").glob("fer*.png")),
                           strict=False):
        (folders / label).mkdir(parents=True, exist_ok=True)
        (folders / label / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "joined.safetensors"
    assert cli.main(["combine", str(trained), "--val", str(folders), "--out", str(out)]) == 0
    assert read_meta(out).label_bias is None
    assert cli.main(["combine", str(trained), "--val", str(ferplus / "val"), "--out", str(out)]) == 0
    assert read_meta(out).label_bias is None  # offsets only when asked for
    assert cli.main(["combine", str(trained), "--val", str(folders), "--out", str(out), "--label-offsets"]) != 0
    assert "not a FER+ folder" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".tiff", ".bmp", ".webp", ".pgm"])
def test_evaluate_reads_every_format_pillow_reads(suffix: str, trained: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for folder, name in faceset.FOLDERS.items():
        img = PILImage.fromarray(faceset.crops()[name])
        (tmp_path / "data" / folder).mkdir(parents=True)
        (img.convert("L") if suffix == ".pgm" else img).save(tmp_path / "data" / folder / f"{name}{suffix}")
    assert cli.main(["evaluate", "--data", str(tmp_path / "data"), "--model", str(trained), "--json",
                     "--no-progress", "--confusion", str(tmp_path / "c.png")]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 3


def test_a_tiff_reads_as_the_png_of_the_same_pixels(tmp_path: Path) -> None:
    crop = faceset.crops()["camera"]
    for suffix in (".png", ".tiff"):
        (tmp_path / suffix / "sad").mkdir(parents=True)
        PILImage.fromarray(crop).save(tmp_path / suffix / "sad" / f"camera{suffix}")
    png, tiff = load_faces(tmp_path / ".png", 48), load_faces(tmp_path / ".tiff", 48)
    assert np.array_equal(png.images, tiff.images) and len(tiff.labels) == 1
