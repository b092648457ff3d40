"""Training on a lent GPU machine: the data packed here, the model commands run there without the services.

The scripts are run here on the CPU (DEVICE=cpu), with the services' packages made unimportable, as they are
on that machine; the GPU itself is only on that machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from affectwatch.exceptions import LabelError
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


def test_device_scripts_pack_the_faces_and_train_with_the_model_commands_alone(data: Path, tmp_path: Path) -> None:
    env = without_services(tmp_path)
    blocked = subprocess.run([sys.executable, "-c", "import flask"], env=env, capture_output=True, text=True)
    assert "ModuleNotFoundError" in blocked.stderr or "ImportError" in blocked.stderr
    tarball = tmp_path / "devdata" / "faces.tar.xz"
    subprocess.run(["bash", str(ROOT / "modeling/research/device_data.sh"), str(data), str(data / "val"), str(tarball)],
                   env={**env, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True)
    out = tmp_path / "out"
    run = subprocess.run(["bash", str(ROOT / "modeling/research/device_train.sh"), "tiny", "--epochs", "1",
                          "--batch-size", "8", "--threads", "1", "--seed", "3"],
                         env={**env, "OUT": str(out), "DEVDATA": str(tarball)}, cwd=tmp_path, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr + run.stdout
    names = sorted(p.name for p in (out / "tiny").iterdir())
    assert names == ["affectwatch-fer-curves.png", "affectwatch-fer.json", "affectwatch-fer.safetensors", "gpu.txt",
                     "train.log"]
    meta = json.loads((out / "tiny" / "affectwatch-fer.json").read_text())
    assert meta["labels"] == ["happy", "neutral", "sad"]
    assert meta["extra"]["settings"]["balance_sources"] == "True"
    assert "faces/wild" in meta["extra"]["settings"]["extra_train"]
    assert (out / "tiny" / "gpu.txt").read_text().strip()
