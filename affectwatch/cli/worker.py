"""`affectwatch worker`: an RQ worker running MTCNN and the expression classifier (torch loads only here)."""

from __future__ import annotations

import argparse

from affectwatch.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("worker", help="run a worker: frames from Redis through MTCNN and the classifier into Postgres")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: AFFECTWATCH_DEVICE, auto: CUDA when present)")
    p.add_argument("--burst", action="store_true", help="quit once the queue is empty")
    p.add_argument("--name", help="worker name shown in RQ and in frames.worker (default: a random id)")
    p.set_defaults(handler=run_worker)


def run_worker(args: argparse.Namespace, config: Config) -> int:
    from worker.runner import run

    worked = run(config, device=args.device, burst=args.burst, name=args.name)
    if args.burst:
        print("processed jobs" if worked else "no jobs in the queue")
    return 0
