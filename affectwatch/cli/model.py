"""`affectwatch train`, `evaluate`, `combine` and `split` (torch is imported only when they run).

`python3 -m affectwatch.cli.model train ...` runs them where only the model's packages are installed
(torch, torchvision, OpenCV, safetensors, matplotlib, tqdm): a lent GPU machine, say
(modeling/research/device_train.sh).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from affectwatch.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _train_parser(sub)
    _evaluate_parser(sub)
    _combine_parser(sub)
    _split_parser(sub)


def _train_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train an expression model on folders of class folders or FER+ folders")
    p.add_argument("--data", type=Path, required=True,
                   help="folder with train/ and val/, each class folders or FER+'s images with label.csv")
    p.add_argument("--out", type=Path, required=True, help="output weights, NAME.safetensors")
    p.add_argument("--arch", choices=["facenet48", "facenet48-wide", "facenet48-xl", "facenet48-fc", "facenet48-res",
                                      "resnet18"],
                   default="facenet48", help="facenet48 (default; width 24), facenet48-wide (32), facenet48-xl "
                   "(48), facenet48-fc, facenet48-res (48, residual blocks) or resnet18")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (the constant one with --schedule swa)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--class-weighting", choices=["none", "sqrt", "inverse"], default="sqrt")
    p.add_argument("--patience", type=int, default=8, help="epochs without better validation before stopping")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--init", type=Path, help="start from these weights (.safetensors or a state dict)")
    p.add_argument("--extra-train", type=Path, action="append", default=[], help="more class folders to train on")
    p.add_argument("--input-size", type=int, default=0)
    p.add_argument("--augment", choices=["light", "strong"], default="light",
                   help="augmentation preset: light (default) or strong (more rotation, erasing and blur)")
    p.add_argument("--balance-sources", action="store_true",
                   help="weight each --extra-train folder's faces to the label mix of --data/train")
    p.add_argument("--framing", choices=["aligned", "box"], default="aligned",
                   help="how the worker will cut faces for this model: aligned by MTCNN's landmarks to FER2013's "
                        "framing (default), or a square around the box with a 20%% margin")
    p.add_argument("--schedule", choices=["onecycle", "swa"], default="onecycle",
                   help="onecycle (default): the rate rises to --lr and falls to almost zero; swa: a constant "
                        "--lr after one epoch's warm-up, and the weights averaged over the epochs (stochastic "
                        "weight averaging), to go on from --init")
    p.add_argument("--teacher", type=Path,
                   help="distil this trained model (a joined mirror: model too) into the network: its soft labels "
                        "join the true ones in the loss")
    p.add_argument("--distill", type=float, default=0.5,
                   help="with --teacher: the teacher's share of the loss, in (0, 1] (default 0.5)")
    p.add_argument("--distill-temperature", type=float, default=2.0,
                   help="with --teacher: the temperature both distributions are softened by (default 2)")
    p.add_argument("--teacher-reads", choices=["augmented", "original"], default="augmented",
                   help="with --teacher: what the teacher reads, each augmented face the network trains on "
                        "(default), or each training face once, as it is, before training (its cost paid once, "
                        "for a costly teacher such as a joined model)")
    p.add_argument("--boost-from", type=Path,
                   help="weight each training face by how wrong this trained model is on it (a joined model too), "
                        "so that a network trained to join it learns most where it is weakest")
    p.add_argument("--boost", type=float, default=2.0,
                   help="with --boost-from: a face the model gives no chance to its true label weighs 1 + this "
                        "times as much as one it is sure of (default 2); the weights are scaled to a mean of 1")
    p.add_argument("--negative-weight", type=float, default=0.0,
                   help="add this much of a second loss on the decision the alerts make, negative or not: the "
                        "binary cross-entropy of the summed probability of the negative labels (default 0: off)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="auto (default): bf16 autocast on CUDA, fp32 on the CPU; bf16 on a CPU with AMX or "
                        "AVX-512 BF16 trains about twice as fast (modeling/bench/training.py measures it)")
    p.add_argument("--keep", choices=["best", "last"], default="best",
                   help="the weights saved: the best-validating epoch's (default), or the last epoch's (the end "
                        "of the one-cycle schedule, not a peak of validation's noise picked mid-cycle)")
    p.add_argument("--targets", choices=["votes", "majority"], default="votes",
                   help="from FER+ folders: learn each face's annotators' vote shares (default), or the majority "
                        "label alone; class folders give one label a face either way")
    p.add_argument("--freeze", type=int, default=0, metavar="N",
                   help="with --init: keep the network's first N feature blocks as they are and train the rest "
                        "(no gradients are computed for them: cheaper, for moving a trained model towards other labels "
                        "on a CPU)")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop after this long (0: no limit)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=train)


def train(args: argparse.Namespace, config: Config) -> int:
    from modeling.training import TrainSettings
    from modeling.training import train as run

    fields = {k: v for k, v in vars(args).items() if k in TrainSettings.__dataclass_fields__}
    fields["threads"] = args.threads or config.torch_threads
    meta = run(TrainSettings(progress=not args.no_progress, **fields))
    print(json.dumps({"model": str(args.out), "labels": meta.labels, "temperature": meta.temperature,
                      "val_accuracy": meta.extra.get("val_accuracy")}))
    return 0


def _evaluate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("evaluate", help="measure a model on a folder of class folders or a FER+ folder (label.csv: "
                                        "scored against the annotators' majority)")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--model", type=Path, help="weights file (default: the shipped model)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--detect", action="store_true", help="first find the largest face with MTCNN, as the worker does")
    p.add_argument("--confusion", type=Path, default=Path("confusion.png"), help="confusion-matrix PNG to write")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it goes to stderr)")
    p.set_defaults(handler=evaluate)


def evaluate(args: argparse.Namespace, config: Config) -> int:
    import torch

    from modeling.evaluation import evaluate_folder, render_text

    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)

    result = evaluate_folder(args.data, args.model, detect=args.detect, config=config, device=args.device,
                             confusion_png=args.confusion, progress=not args.no_progress)
    print(json.dumps(result) if args.json else render_text(result))
    return 0


def _combine_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("combine", help="join trained models into one (mean of their logits, and of the mirror "
                                       "image's; one model alone reads each face and its mirror) and fit its "
                                       "temperature on a validation folder")
    p.add_argument("models", type=Path, nargs="+", help="the members' weights files (a joined model's "
                   "networks join one by one)")
    p.add_argument("--val", type=Path, required=True, help="folder of class folders to calibrate on")
    p.add_argument("--out", type=Path, required=True, help="output weights, NAME.safetensors")
    p.add_argument("--storage", choices=["float32", "float16"], default="float32",
                   help="the saved weights' type: float16 halves the file (the weights are rounded to it before "
                        "the temperature is fitted; they load as float32)")
    p.add_argument("--label-offsets", action="store_true",
                   help="fit one offset a label with the temperature, to the annotators' vote shares of a FER+ "
                        "--val folder: it undoes the label prior class weighting taught (fewer faces called "
                        "negative, lower negative probabilities: the alert shares would have to move with it)")
    p.set_defaults(handler=combine)


def combine(args: argparse.Namespace, config: Config) -> int:
    import torch

    from modeling.ensemble import combine as run

    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    meta = run(args.models, args.val, args.out, args.storage, args.label_offsets)
    print(json.dumps({"model": str(args.out), "arch": meta.arch, "temperature": meta.temperature,
                      "val_accuracy": meta.extra["val_accuracy"]}))
    return 0


def _split_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("split", help="save each network of a joined model as a model of its own (to train one on, "
                                     "or to join them otherwise), with the record of its training")
    p.add_argument("model", type=Path, help="a joined model's weights file, NAME.safetensors")
    p.add_argument("--out", type=Path, required=True, help="folder for NAME-1.safetensors, NAME-2.safetensors, ...")
    p.set_defaults(handler=split)


def split(args: argparse.Namespace, config: Config) -> int:
    from modeling.ensemble import split as run

    print(json.dumps([str(path) for path in run(args.model, args.out)]))
    return 0


if __name__ == "__main__":
    from affectwatch.cli import main

    sys.exit(main(modules=("affectwatch.cli.model",)))
