"""FER+ votes with FER2013's own label of each face blended in: a FER+ folder `affectwatch train` reads.

    .venv/bin/python modeling/research/blend_labels.py FERPLUS_SPLIT FER2013_SPLIT OUT --fer2013-share 0.25

FER+ relabelled FER2013's faces with ten annotators each; the two agree on the majority label of only about
63% of them, and a model that learns FER+ alone reads FER2013's own labels about 10 points worse than one that
learnt them. With --fer2013-share s, each face's target becomes (1 - s) x its FER+ vote shares + s x FER2013's
label: written as FER2013's label counting as extra, fractional, votes (k = E s / (1 - s) for a face with E
expression votes), so `--targets votes` learns the blend and `--targets majority` its winner. Faces whose FER+
votes name no expression (unknown or not-a-face won) keep their votes unchanged and stay left out.

The two folders hold the same faces under different names (FER+'s `fer0000123.png`, FER2013's class folders of
JPEGs), so each FER+ face is matched to its FER2013 image by the nearest 16x16 thumbnail; the script refuses a
match further than MAX_DISTANCE grey levels a pixel (JPEG's loss is about 0.45). OUT gets `label.csv` and
links to FER+'s images (`--copy-as webp` writes them as lossless WebP instead, smaller to carry; `--labels-only`
writes label.csv alone, for another share of the same images).
"""

from __future__ import annotations

import argparse
import csv
import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from affectwatch.labels import LABELS
from modeling.datasets import FERPLUS_CSV, FERPLUS_VOTES, image_files

log = logging.getLogger(__name__)
MAX_DISTANCE = 2.0
THUMB = 16


def thumbnail(path: Path) -> npt.NDArray[np.float32]:
    with Image.open(path) as img:
        return np.asarray(img.convert("L").resize((THUMB, THUMB), Image.Resampling.BILINEAR), np.float32).ravel()


def fer2013_labels(ferplus: Path, fer2013: Path, names: list[str]) -> list[str]:
    """FER2013's label of each named FER+ image, by the nearest thumbnail among FER2013's images."""
    theirs = list(image_files(fer2013))
    their_thumbs = np.stack([thumbnail(path) for _, path in theirs])
    their_norms = (their_thumbs**2).sum(1)
    labels: list[str] = []
    for start in range(0, len(names), 2000):
        ours = np.stack([thumbnail(ferplus / name) for name in names[start : start + 2000]])
        d2 = (ours**2).sum(1)[:, None] + their_norms[None] - 2 * ours @ their_thumbs.T
        nearest = d2.argmin(1)
        distance = np.sqrt(np.maximum(d2[np.arange(len(nearest)), nearest], 0)) / THUMB
        if distance.max() > MAX_DISTANCE:
            worst = int(distance.argmax())
            raise SystemExit(f"{names[start + worst]} matches no image of {fer2013} (nearest {distance.max():.1f})")
        labels += [theirs[i][0] for i in nearest.tolist()]
    return labels


def blended(counts: list[float], label: str, share: float) -> list[float]:
    """The row's vote counts with `label` given the extra votes that make it `share` of the expression votes."""
    emotions = [counts[FERPLUS_VOTES.index(name)] for name in LABELS]
    if max(emotions) <= 0 or max(emotions) < max(counts[-2:]):
        return counts
    column = FERPLUS_VOTES.index(label)
    out = list(counts)
    out[column] += sum(emotions) * share / (1 - share)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ferplus", type=Path, help="a FER+ split: images and label.csv")
    parser.add_argument("fer2013", type=Path, help="the same split of FER2013, class folders")
    parser.add_argument("out", type=Path)
    parser.add_argument("--fer2013-share", type=float, required=True, help="FER2013's label's share, in [0, 1)")
    parser.add_argument("--copy-as", choices=["link", "webp"], default="link")
    parser.add_argument("--labels-only", action="store_true", help="write label.csv alone (the images are there)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with (args.ferplus / FERPLUS_CSV).open(newline="") as f:
        rows = [row for row in csv.reader(f) if (args.ferplus / row[0]).is_file()]
    labels = fer2013_labels(args.ferplus, args.fer2013, [row[0] for row in rows])
    args.out.mkdir(parents=True, exist_ok=True)
    agree = 0
    with (args.out / FERPLUS_CSV).open("w", newline="") as f:
        writer = csv.writer(f)
        for row, label in zip(rows, labels, strict=True):
            counts = [float(v) for v in row[2:]]
            agree += max(LABELS, key=lambda name: counts[FERPLUS_VOTES.index(name)]) == label
            name = row[0] if args.copy_as == "link" else Path(row[0]).with_suffix(".webp").name
            writer.writerow([name, row[1], *(f"{v:g}" for v in blended(counts, label, args.fer2013_share))])
            target = args.out / name
            if args.labels_only or target.exists():
                continue
            if args.copy_as == "link":
                target.symlink_to((args.ferplus / row[0]).resolve())
            else:
                with Image.open(args.ferplus / row[0]) as img:
                    img.convert("L").save(target, "WEBP", lossless=True, quality=100, method=6)
    log.info("%d faces; FER+'s majority is FER2013's label on %.1f%% of them", len(rows), 100 * agree / len(rows))


if __name__ == "__main__":
    main()
