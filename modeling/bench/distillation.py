"""Distillation's cost on the CPU: a training step whose teacher reads the augmented batch, against the same step
taught by logits the teacher read once before training (`affectwatch train --teacher-reads original`), in the
same run.

The student is one `facenet48-xl` network, the teacher a joined model of three (`mirror:facenet48-xl,...`, the
shipped model's architecture: six reads a face), both under bfloat16 autocast as `--precision bf16` trains.
A step is forward, the blended loss, backward and an AdamW update on a batch of 48 px grey faces. Random
weights: the cost of a network does not depend on them. The median of repeated steps counts.

    .venv/bin/python -m modeling.bench.distillation [--threads 2] [--seconds 5] [--batch 128]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torch.nn.functional as F

from bench.model import seconds_per_call
from modeling.losses import blend, soft_loss
from worker.models.nets import build

STUDENT = "facenet48-xl"
TEACHER = "mirror:facenet48-xl,facenet48-xl,facenet48-xl"


def step_fn(teacher: torch.nn.Module | None, batch: int) -> Callable[[], None]:
    """One training step; with a teacher, it reads the batch, else the batch's logits are already at hand."""
    torch.manual_seed(0)
    net = build(STUDENT, 7, 0.5, 0.25).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x = torch.rand(batch, 1, 48, 48).contiguous(memory_format=torch.channels_last)
    y, read_before = torch.randint(0, 7, (batch,)), torch.randn(batch, 7)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = net(x).float()
            with torch.no_grad():
                taught = read_before if teacher is None else teacher(x).float()
            loss = blend(F.cross_entropy(logits, y), soft_loss(logits, taught, 2.0).mean(), 0.5)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time budget per measurement")
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    teacher = build(TEACHER, 7, 0.5, 0.25).eval()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}; student {STUDENT}, teacher {TEACHER}, batch {args.batch}, "
          "bf16 autocast, median seconds a step")
    once = seconds_per_call(step_fn(None, args.batch), args.seconds)
    every = seconds_per_call(step_fn(teacher, args.batch), args.seconds)
    print(f"teacher reads every augmented batch {every * 1000:7.1f} ms  logits read once before training "
          f"{once * 1000:7.1f} ms  reading every batch takes {every / once:.2f}x as long")


if __name__ == "__main__":
    main()
