"""Every subset of some single networks, joined as `affectwatch combine` joins them, scored on one validation folder.

    .venv/bin/python scripts/member_subsets.py VAL NETWORK [NETWORK ...]

Each network (a single network's model file, or `affectwatch split`'s parts) reads the folder once, with its
mirror image, as a member of a joined model reads it; every subset of two or more is then scored twice: by the
mean of the members' logits (what `combine` saves) and by the mean of their probabilities, each member
calibrated by a temperature of its own. One pass of each network instead of one `combine` per subset.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import torch

from worker import metrics
from worker.ensemble import val_logits
from worker.models.modelfile import load_model
from worker.models.nets import Ensemble


def mirrored_logits(path: Path, val: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One network's logits, read with its mirror image as a joined model's member reads, and the labels."""
    net, meta = load_model(path)
    return val_logits(Ensemble([net]).eval(), val, meta)


def accuracy(scores: torch.Tensor, true: torch.Tensor) -> float:
    return float((scores.argmax(1) == true).float().mean())


def calibrated(logits: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits / metrics.fit_temperature(logits, true), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("val", type=Path)
    parser.add_argument("networks", type=Path, nargs="+")
    args = parser.parse_args()
    read = {path: mirrored_logits(path, args.val) for path in args.networks}
    true = next(iter(read.values()))[1]
    if any(not torch.equal(labels, true) for _, labels in read.values()):
        raise SystemExit("the networks label the folder's faces differently: they cannot be joined")
    logits = {path: scores for path, (scores, _) in read.items()}
    probs = {path: calibrated(scores, true) for path, scores in logits.items()}  # one temperature per network
    for path, scores in logits.items():
        print(f"{path}: {accuracy(scores, true):.4f} with its mirror image")
    for size in range(2, len(logits) + 1):
        for subset in itertools.combinations(logits, size):
            mean = torch.stack([logits[p] for p in subset]).mean(0)
            prob_mean = torch.stack([probs[p] for p in subset]).mean(0)
            names = " + ".join(str(p) for p in subset)
            print(f"{names}: logit mean {accuracy(mean, true):.4f}, calibrated probability mean "
                  f"{accuracy(prob_mean, true):.4f}")


if __name__ == "__main__":
    main()
