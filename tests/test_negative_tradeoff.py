"""modeling/research/negative_tradeoff.py: the threshold table, intervals over people, and two models compared."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import faceset
from worker.models.modelfile import DEFAULT_MODEL

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parent.parent / "modeling" / "research" / "negative_tradeoff.py"


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three people named as the web photographs are, each photographed twice (the second mirrored), and a
    photograph without a face."""
    root = tmp_path_factory.mktemp("photos")
    for folder, name in {"happy": "astronaut", "neutral": "hopper", "sad": "camera"}.items():
        for i, image in enumerate([faceset.photos()[name], faceset.photos()[name][:, ::-1]], start=1):
            faceset.write_image(root / folder / f"{name.title()}_{i:04d}.png", image)
    faceset.write_image(root / "happy" / "Coffee_0001.png", faceset.photos()["coffee"])  # no face in it
    return root


def run(*args: str, rc: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == rc, done.stderr
    return done


def test_a_model_against_itself_differs_by_nothing_and_detections_are_kept(photos: Path, tmp_path: Path) -> None:
    kept = tmp_path / "faces.json"
    out = run(str(photos), "--detect", "--detections", str(kept), "--against", str(DEFAULT_MODEL),
              "--bootstrap", "50", "--by-person").stdout
    assert out.count("n=6 negatives=2 no_face=1") == 2
    assert "false alarms at 80% recall +0.000 to +0.000; AUC +0.000 to +0.000" in out
    assert "2 people; false alarms averaged over people" in out  # the two non-negative people
    faces = json.loads(kept.read_text())
    assert len(faces) == 7 and sum(face is None for face in faces.values()) == 1
    again = run(str(photos), "--detect", "--detections", str(kept)).stdout
    assert set(again.splitlines()) <= set(out.splitlines())
    kept.write_text(json.dumps(dict.fromkeys(faces)))  # the kept answers are used, not detected again
    assert "(7 images without one)" in run(str(photos), "--detect", "--detections", str(kept), rc=1).stderr
