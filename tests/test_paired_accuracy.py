"""modeling/research/paired_accuracy.py: two models' accuracy on the same faces and the paired interval of the
difference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import faceset
from worker.models.modelfile import DEFAULT_MODEL

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parent.parent / "modeling" / "research" / "paired_accuracy.py"


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_shipped_model_against_itself_differs_by_nothing(tmp_path: Path) -> None:
    for folder, name in {"happy": "astronaut", "neutral": "hopper"}.items():
        faceset.write_image(tmp_path / folder / f"{name}.png", faceset.crops()[name])
    out = run(str(tmp_path), str(DEFAULT_MODEL), str(DEFAULT_MODEL), "--bootstrap", "50")
    assert "(n=2)" in out and "second minus first: +0.0000, paired 95% interval +0.0000 to +0.0000" in out


def test_the_interval_is_of_the_second_models_accuracy_minus_the_firsts() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    from paired_accuracy import paired_interval

    one = np.array([True] * 50 + [False] * 50)
    assert paired_interval(one, one.copy(), 200) == (0.0, 0.0)  # the same faces are resampled for both
    lo, hi = paired_interval(one, np.ones(100, bool), 500)  # the second is right on every face
    assert 0.35 < lo < 0.5 < hi < 0.65
