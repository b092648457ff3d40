"""scripts/member_subsets.py: every subset of some networks joined, scored from one reading of each network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from worker.ensemble import split, val_logits
from worker.models.modelfile import DEFAULT_MODEL, load_model

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "member_subsets.py"


def test_the_shipped_models_networks_read_apart_and_averaged_give_its_logits(data: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    from member_subsets import mirrored_logits

    net, meta = load_model(DEFAULT_MODEL)
    joined, true = val_logits(net.eval(), data / "val", meta)
    read = [mirrored_logits(part, data / "val") for part in split(DEFAULT_MODEL, tmp_path)]
    assert all(torch.equal(labels, true) for _, labels in read)
    assert torch.allclose(torch.stack([logits for logits, _ in read]).mean(0), joined, atol=1e-4)


def test_each_network_and_every_subset_of_two_or_more_is_scored_both_ways(data: Path, tmp_path: Path) -> None:
    parts = [str(p) for p in split(DEFAULT_MODEL, tmp_path)]
    done = subprocess.run([sys.executable, str(SCRIPT), str(data / "val"), *parts], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == parts
    subsets = [line.split(": ")[0] for line in lines[3:]]
    assert subsets == [f"{parts[0]} + {parts[1]}", f"{parts[0]} + {parts[2]}", f"{parts[1]} + {parts[2]}",
                       " + ".join(parts)]
    assert all("logit mean" in line and "calibrated probability mean" in line for line in lines[3:])
