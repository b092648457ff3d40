"""Milliseconds per face on CPU: our expression network against the report's setup, in the same run.

The report's setup is torchvision's ResNet-18 on 224 px RGB faces; ours is the shipped model's
architecture (facenet48 unless the shipped model says otherwise) on 48 px grey faces. Both are timed
forward only, in inference mode, after a warm-up, on the same threads; the median of repeated runs
counts. Speed does not depend on the weights, so random weights are used when no model is shipped.
The preprocessing of one face (the landmark alignment, then face_input) is timed apart, as it is part of
our per-face cost.

    .venv/bin/python bench/model.py [--threads 2] [--seconds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torchvision.models import resnet18

from worker.models.modelfile import DEFAULT_MODEL, read_meta
from worker.models.nets import DEFAULT_INPUT_SIZE, build
from worker.preprocess import align_face, face_input, fer_template

BATCHES = (1, 32)


@dataclass(frozen=True)
class Setup:
    name: str
    net: nn.Module
    shape: tuple[int, int, int]  # channels, height, width of one face


def ours() -> Setup:
    arch, size, k = "facenet48", 48, 7
    if DEFAULT_MODEL.exists():
        meta = read_meta(DEFAULT_MODEL)
        arch, size, k = meta.arch, meta.input_size, len(meta.labels)
    size = size or DEFAULT_INPUT_SIZE[arch]
    return Setup(f"ours: {arch}, {size} px grey", build(arch, k, 0.5, 0.25).eval(), (1, size, size))


def report() -> Setup:
    net = resnet18(weights=None, num_classes=8).to(memory_format=torch.channels_last).eval()  # as ours
    return Setup("report: torchvision ResNet-18, 224 px RGB", net, (3, 224, 224))


def seconds_per_call(fn: Callable[[], object], budget: float, warmup: int = 3, least: int = 5) -> float:
    """The median wall time of fn over at least `least` calls, or as many as fit in budget seconds."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < least or time.perf_counter() - started < budget:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ms_per_face(setup: Setup, batch: int, budget: float) -> float:
    x = torch.rand(batch, *setup.shape).contiguous(memory_format=torch.channels_last)

    def forward() -> object:
        with torch.inference_mode():
            return setup.net(x)

    return 1000 * seconds_per_call(forward, budget) / batch


def preprocessing_ms(size: int, budget: float) -> float:
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    template = fer_template(size)
    landmarks = np.array(template) * (160 / size) + [240, 160]  # a 160 px face in a 640 x 480 frame
    return 1000 * seconds_per_call(lambda: face_input(align_face(frame, landmarks, template, size), size), budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time budget per measurement")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    setups = (ours(), report())
    params = {s.name: sum(p.numel() for p in s.net.parameters()) for s in setups}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ms per face, median")
    results = {(s.name, b): ms_per_face(s, b, args.seconds) for s in setups for b in BATCHES}
    for s in setups:
        cells = "  ".join(f"batch {b}: {results[s.name, b]:8.3f} ms" for b in BATCHES)
        print(f"{s.name:<44} {params[s.name] / 1e6:5.2f} M params  {cells}")
    for b in BATCHES:
        ratio = results[setups[1].name, b] / results[setups[0].name, b]
        print(f"batch {b}: the report's setup takes {ratio:.1f}x as long per face as ours")
    ms = preprocessing_ms(setups[0].shape[1], 1.0)
    print(f"our preprocessing (a 160 px face aligned out of a 640 x 480 frame, then face_input): {ms:.3f} ms")


if __name__ == "__main__":
    main()
