"""Training speed on the CPU: one step under bfloat16 autocast against the same step in fp32, in the same run.

A step is what `affectwatch train` does per batch: forward, cross-entropy, backward and an AdamW update, on a
batch of 48 px grey faces in channels-last memory. `--precision bf16` puts the forward pass under
`torch.autocast(dtype=torch.bfloat16)`; on CPUs with AMX or AVX-512 BF16 oneDNN then runs the convolutions in
bfloat16 (accumulating in fp32), elsewhere it may be slower than fp32. The median of repeated steps counts.

    .venv/bin/python -m modeling.bench.training [--threads 2] [--seconds 5] [--batch 128]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from bench.model import seconds_per_call
from worker.models.nets import build

ARCHS = ("facenet48", "facenet48-wide", "facenet48-xl")


def step_seconds(arch: str, bf16: bool, batch: int, budget: float) -> float:
    torch.manual_seed(0)
    net = build(arch, 7, 0.5, 0.25).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x = torch.rand(batch, 1, 48, 48).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 7, (batch,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()

    return seconds_per_call(step, budget, warmup=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time budget per measurement")
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}; batch {args.batch}, median seconds a step")
    for arch in ARCHS:
        fp32 = step_seconds(arch, False, args.batch, args.seconds)
        bf16 = step_seconds(arch, True, args.batch, args.seconds)
        print(f"{arch:<15} fp32 {fp32 * 1000:7.1f} ms  bf16 autocast {bf16 * 1000:7.1f} ms  "
              f"fp32 takes {fp32 / bf16:.2f}x as long")


if __name__ == "__main__":
    main()
