"""Training on a lent GPU machine: the data packed here, the model commands run there without the services.

The scripts are run here on the CPU (DEVICE=cpu), with the services' packages made unimportable, as they are
on that machine; the GPU itself is only on that machine.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from affectwatch.exceptions import LabelError
from affectwatch.labels import canonical
from modeling.datasets import load_faces, shrink_folder

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SERVICE_PACKAGES = ("psycopg", "psycopg_pool", "redis", "rq", "flask", "werkzeug", "facenet_pytorch")


def test_shrink_folder_keeps_the_very_faces_training_reads(data: Path, tmp_path: Path) -> None:
    assert shrink_folder(data / "train", tmp_path, 48) == 24
    before, after = load_faces(data / "train", 48), load_faces(tmp_path, 48)
    np.testing.assert_array_equal(after.images, before.images)
    assert after.labels == before.labels
    assert sum(p.stat().st_size for p in tmp_path.rglob("*.png")) < sum(
        p.stat().st_size for p in (data / "train").rglob("*.png"))


def test_shrink_folder_refuses_two_images_of_one_name(data: Path, tmp_path: Path) -> None:
    src = tmp_path / "src" / "happy"
    src.mkdir(parents=True)
    image = next((data / "train" / "happiness").iterdir()).read_bytes()
    (src / "same.png").write_bytes(image)
    (src / "same.jpg").write_bytes(image)
    with pytest.raises(LabelError, match="two images of one name"):
        shrink_folder(tmp_path / "src", tmp_path / "dst", 48)
    assert not (tmp_path / "dst").exists()


def without_services(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import the services' packages (sitecustomize blocks them)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in SERVICE_PACKAGES))
    return {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}", "PYTHON": sys.executable, "DEVICE": "cpu"}


VOTE_COLUMNS = ("neutral", "happy", "surprise", "sad", "anger", "disgust", "fear", "contempt", "unknown", "not-a-face")


def shared_datasets(data: Path, root: Path) -> Path:
    """../shared/datasets in small: FER+ folders (PNGs, label.csv of votes) of the class folders' faces, and the
    same faces as FER2013's JPEG class folders, where FER2013 calls every neutral face sad (as it often does)."""
    for split in ("train", "val"):
        rows = []
        for i, (label, path) in enumerate(sorted((canonical(p.parent.name), p) for p in (data / split).glob("*/*"))):
            image = Image.open(path).convert("L")
            name = f"fer{i:07d}.png"
            (root / "ferplus" / split).mkdir(parents=True, exist_ok=True)
            image.save(root / "ferplus" / split / name)
            votes = [8 if column == label else 0 for column in VOTE_COLUMNS]
            votes[VOTE_COLUMNS.index("surprise")] += 2
            rows.append([name, "(0, 0, 48, 48)", *votes])
            theirs = root / "fer2013" / split / ("sad" if label == "neutral" else label)
            theirs.mkdir(parents=True, exist_ok=True)
            image.save(theirs / f"{split}_{i}.jpg", quality=90)
        with (root / "ferplus" / split / "label.csv").open("w", newline="") as f:
            csv.writer(f).writerows(rows)
    return root


def test_device_scripts_pack_the_faces_and_train_with_the_model_commands_alone(data: Path, tmp_path: Path) -> None:
    env = without_services(tmp_path)
    blocked = subprocess.run([sys.executable, "-c", "import flask"], env=env, capture_output=True, text=True)
    assert "ModuleNotFoundError" in blocked.stderr or "ImportError" in blocked.stderr
    shared_datasets(data, tmp_path / "shared" / "datasets")
    tarball = tmp_path / "devdata" / "faces.tar.xz"
    subprocess.run(["bash", str(ROOT / "modeling/research/device_data.sh"), "0", "0.3"], check=True,
                   capture_output=True, env={**env, "PYTHONPATH": str(ROOT), "SHARED": str(tmp_path / "shared"),
                                             "WILD": str(data / "val"), "DEVDATA": str(tarball)})
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        blend = tar.extractfile("faces/train/label-0.3.csv")
        assert blend is not None
        rows = list(csv.reader(blend.read().decode().splitlines()))
    assert "faces/train/label-0.csv" in names and "faces/val/label.csv" in names
    assert any(n.startswith("faces/wild/") and n.endswith(".webp") for n in names)
    neutral = [r for r in rows if float(r[2 + VOTE_COLUMNS.index("neutral")]) > 0]
    # FER2013's "sad" joins the neutral faces' votes: 3/7 of ten votes, 30% of the blend
    assert neutral and all(float(r[2 + VOTE_COLUMNS.index("sad")]) == pytest.approx(30 / 7, abs=1e-3) for r in neutral)
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("# name labels options\ntiny label-0.3.csv --epochs 1 --batch-size 8 --seed 3\n")
    out = tmp_path / "out"
    out.mkdir()
    run = subprocess.run(["bash", str(ROOT / "modeling/research/device_train.sh"), str(jobs)],
                         env={**env, "OUT": str(out), "DEVDATA": str(tarball), "DEADLINE": "600"}, cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr + run.stdout
    assert sorted(p.name for p in out.iterdir()) == ["results.tar"]  # one file comes back from the machine
    with tarfile.open(out / "results.tar") as tar:
        tar.extractall(tmp_path / "results", filter="data")
    got = tmp_path / "results"
    assert sorted(p.name for p in (got / "tiny").iterdir()) == [
        "affectwatch-fer-curves.png", "affectwatch-fer.json", "affectwatch-fer.safetensors", "train.log"]
    meta = json.loads((got / "tiny" / "affectwatch-fer.json").read_text())
    assert meta["labels"] == ["happy", "neutral", "sad", "surprise"]
    assert meta["extra"]["settings"]["balance_sources"] == "True"
    assert "faces/wild" in meta["extra"]["settings"]["extra_train"]
    assert (got / "gpu.txt").read_text().strip()
