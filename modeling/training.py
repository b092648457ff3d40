"""Training: folders of class folders in, a safetensors model with metadata, curves and a checkpoint out."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from affectwatch.exceptions import LabelError, ModelError
from affectwatch.labels import LABELS, NEGATIVE_LABELS
from modeling import charts, metrics
from modeling.augment import PRESETS, augment
from modeling.datasets import FaceSet, load_faces
from modeling.distillation import Teacher, error_weights
from modeling.ensemble import network_records
from modeling.losses import blend, group_loss, soft_loss
from modeling.widen import widen, widens
from worker.models.modelfile import ModelMeta, meta_path, read_meta, save_model
from worker.models.nets import DEFAULT_INPUT_SIZE, TRAINABLE, build, single_network
from worker.preprocess import fer_template

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    data: Path
    out: Path
    arch: str = "facenet48"
    epochs: int = 30
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    class_weighting: str = "sqrt"
    patience: int = 8
    seed: int = 0
    threads: int = 0
    device: str = "cpu"
    init: Path | None = None
    extra_train: list[Path] = field(default_factory=list)
    input_size: int = 0
    max_minutes: float = 0.0
    augment: str = "light"
    balance_sources: bool = False
    framing: str = "aligned"
    schedule: str = "onecycle"
    teacher: Path | None = None
    distill: float = 0.5
    distill_temperature: float = 2.0
    teacher_reads: str = "augmented"
    boost_from: Path | None = None
    boost: float = 2.0
    negative_weight: float = 0.0
    precision: str = "auto"
    keep: str = "best"
    targets: str = "votes"
    freeze: int = 0
    progress: bool = True


SCHEDULES = ("onecycle", "swa")
PRECISIONS = ("auto", "fp32", "bf16")
KEEPS = ("best", "last")
TEACHER_READS = ("augmented", "original")
TARGETS = ("votes", "majority")


def autocast_bf16(precision: str, device: str) -> bool:
    """Whether training steps run under bfloat16 autocast: auto means on CUDA only (the CPU's speed-up needs
    AMX or AVX-512 BF16, which `modeling/bench/training.py` measures; without them bf16 on the CPU may be slower)."""
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return precision == "bf16" or (precision == "auto" and device.startswith("cuda"))


@dataclass
class Batches:
    x: torch.Tensor
    y: torch.Tensor
    soft: torch.Tensor  # each face's target distribution over the labels: its votes' shares, or one-hot


def to_tensors(faces: FaceSet, labels: list[str]) -> Batches:
    index = {label: i for i, label in enumerate(labels)}
    x = torch.from_numpy(faces.images).unsqueeze(1)
    soft = torch.from_numpy(faces.vote_shares()[:, [LABELS.index(label) for label in labels]])
    soft = soft / soft.sum(1, keepdim=True).clamp(min=1e-9)
    return Batches(x, torch.tensor([index[label] for label in faces.labels], dtype=torch.long), soft)


def model_labels(*sets: FaceSet) -> list[str]:
    """The labels present in training (as a face's label, or among its annotators' votes), in the canonical
    order of the eight."""
    seen = {label for s in sets for label in s.labels}
    for s in sets:
        if s.votes is not None:
            seen |= {label for label, n in zip(LABELS, s.votes.sum(0), strict=True) if n > 0}
    return [label for label in LABELS if label in seen]


def class_weights(targets: torch.Tensor, k: int, mode: str) -> torch.Tensor | None:
    """Per-label weights from how often each label is a training face's (targets: labels, or soft targets whose
    columns are summed: a label's share of the votes)."""
    if mode == "none":
        return None
    counts = (targets.sum(0) if targets.dim() == 2 else torch.bincount(targets, minlength=k)).float().clamp(min=1)
    w = (counts.sum() / counts) ** (0.5 if mode == "sqrt" else 1.0)
    return w / (w * counts).sum() * counts.sum()


def source_weights(y: torch.Tensor, source: torch.Tensor, k: int, cap: float = 15.0) -> torch.Tensor:
    """Per-face weights that give each extra source (1, 2, ...) the label mix of the main one (0).

    Without them, a source whose faces are mostly neutral and happy teaches the network that its
    framing, not the expression, predicts the label: a shortcut that fails in service.
    """
    weights = torch.ones(len(y))
    target = torch.bincount(y[source == 0], minlength=k).float()
    target /= target.sum()
    for src in sorted(set(source.tolist())):
        if src == 0:
            continue
        mask = source == src
        share = torch.bincount(y[mask], minlength=k).float() / int(mask.sum())
        w = (target / share.clamp(min=1e-9)).clamp(max=cap)[y[mask]]
        weights[mask] = w / w.mean()
    return weights


def merge(a: FaceSet, b: FaceSet) -> FaceSet:
    """Both sets' faces; where either has votes, the other's faces vote for their label as one annotator would."""
    votes = None
    if a.votes is not None or b.votes is not None:
        votes = np.concatenate([a.vote_shares(), b.vote_shares()])
    return FaceSet(np.concatenate([a.images, b.images]), a.labels + b.labels, a.paths + b.paths, votes=votes)


def load_data(s: TrainSettings, size: int) -> tuple[FaceSet, FaceSet, torch.Tensor]:
    """Training and validation faces, and for each training face the index of its source folder."""
    train_dir, val_dir = s.data / "train", s.data / "val"
    for d in (train_dir, val_dir):
        if not d.is_dir():
            raise LabelError(f"{s.data} must hold train/ and val/ folders (class folders, or FER+'s images with "
                             f"label.csv); {d} is missing")
    train = load_faces(train_dir, size, progress=s.progress)
    sources = [torch.zeros(len(train.labels), dtype=torch.long)]
    for i, extra in enumerate(s.extra_train, start=1):
        more = load_faces(extra, size, progress=s.progress)
        sources.append(torch.full((len(more.labels),), i, dtype=torch.long))
        train = merge(train, more)
    return train, load_faces(val_dir, size, progress=s.progress), torch.cat(sources)


def evaluate_logits(net: nn.Module, x: torch.Tensor, device: str, batch: int = 512) -> torch.Tensor:
    net.eval()
    outs = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            outs.append(net(x[i : i + batch].to(device).float() / 255.0).float().cpu())
    return torch.cat(outs) if outs else torch.zeros(0)


@dataclass
class State:
    epoch: int = 0
    best_acc: float = -1.0
    best_epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """One training run; checkpoints after each epoch and resumes from the last one."""

    def __init__(self, s: TrainSettings) -> None:
        self.s = s
        self.size = s.input_size or DEFAULT_INPUT_SIZE.get(s.arch, 48)
        if s.augment not in PRESETS:
            raise ModelError(f"unknown augmentation {s.augment!r}; choose one of {', '.join(PRESETS)}")
        if s.keep not in KEEPS:
            raise ModelError(f"unknown --keep {s.keep!r}; choose one of {', '.join(KEEPS)}")
        if s.schedule not in SCHEDULES:
            raise ModelError(f"unknown schedule {s.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if s.targets not in TARGETS:
            raise ModelError(f"unknown --targets {s.targets!r}; choose one of {', '.join(TARGETS)}")
        self.train_set, self.val_set, sources = load_data(s, self.size)
        self.labels = model_labels(self.train_set)
        self.soft = s.targets == "votes" and self.train_set.votes is not None
        missing = set(self.val_set.labels) - set(self.labels)
        if missing:
            log.warning("validation labels %s are not in training; they are left out of validation", missing)
            self.val_set = _keep(self.val_set, set(self.labels))
        self.train = to_tensors(self.train_set, self.labels)
        self.val = to_tensors(self.val_set, self.labels)
        mean, std = float(self.train.x.float().mean() / 255), float(self.train.x.float().std() / 255)
        torch.manual_seed(s.seed)
        self.net = build(s.arch, len(self.labels), mean, std).to(s.device)
        self.mean, self.std = mean, std
        if s.init:
            self._init_from(s.init)
        self.frozen = self._freeze()
        trainable = [p for p in self.net.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(trainable, lr=s.lr, weight_decay=s.weight_decay)
        self.steps = (len(self.train.y) + s.batch_size - 1) // s.batch_size
        self.plan: dict[str, Any] = {"schedule": s.schedule, "total_steps": s.epochs * self.steps}
        if self.soft:
            self.plan["targets"] = "votes"
        if s.freeze:
            self.plan["freeze"] = s.freeze
        self.teacher = self._teacher()
        self.sched = self._scheduler()
        self.averaged = AveragedModel(self.net) if s.schedule == "swa" else None
        self.weights = class_weights(self.train.soft if self.soft else self.train.y, len(self.labels),
                                     s.class_weighting)
        self.negative = self._negative_group()
        self.face_weights = (source_weights(self.train.y, sources, len(self.labels)) if s.balance_sources
                             else torch.ones(len(self.train.y)))
        self.gen = torch.Generator().manual_seed(s.seed)
        self.state = State()
        self.bf16 = autocast_bf16(s.precision, s.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=s.device.startswith("cuda"))
        log.info("training %s on %d faces (%s), validating on %d, %s, %s", s.arch, len(self.train.y),
                 dict(Counter(self.train_set.labels)), len(self.val.y), "bf16 autocast" if self.bf16 else "fp32",
                 "towards the annotators' votes" if self.soft else "towards one label a face")
        self.taught = self._read_once()
        self.face_weights = self.face_weights * self._boosting()

    def _freeze(self) -> nn.Module | None:
        """With --freeze N, the first N blocks of the network's features as --init left them: no gradient, and
        their batch norms and dropout in evaluation mode, so that only the blocks above them learn."""
        if not self.s.freeze:
            return None
        if not self.s.init:
            raise ModelError("--freeze keeps blocks as --init trained them: give --init")
        blocks = getattr(self.net, "features", None)
        if not isinstance(blocks, nn.Sequential) or not 0 < self.s.freeze < len(blocks):
            n = len(blocks) if isinstance(blocks, nn.Sequential) else 0
            raise ModelError(f"--freeze {self.s.freeze}: {self.s.arch} has {n} feature blocks, and at least one "
                             "must learn")
        frozen = blocks[: self.s.freeze]
        for p in frozen.parameters():
            p.requires_grad_(False)
        trainable = sum(p.numel() for p in self.net.parameters() if p.requires_grad)
        log.info("feature blocks 1-%d frozen; %d parameters learn", self.s.freeze, trainable)
        return frozen

    def _teacher(self) -> Teacher | None:
        """The model distilled from, if any; its name and weight join the plan a checkpoint must match."""
        if self.s.teacher is None:
            return None
        if not 0.0 < self.s.distill <= 1.0 or self.s.distill_temperature <= 0:
            raise ModelError("--distill must be in (0, 1] and --distill-temperature positive")
        if self.s.teacher_reads not in TEACHER_READS:
            raise ModelError(f"unknown --teacher-reads {self.s.teacher_reads!r}; "
                             f"choose one of {', '.join(TEACHER_READS)}")
        self.plan.update(teacher=str(self.s.teacher), distill=self.s.distill, distill_t=self.s.distill_temperature)
        if self.s.teacher_reads != "augmented":
            self.plan.update(teacher_reads=self.s.teacher_reads)
        log.info("distilling from %s", self.s.teacher)
        return Teacher(self.s.teacher, self.labels, self.size, self.s.device)

    def _read_once(self) -> torch.Tensor | None:
        """With --teacher-reads original: the teacher's logits for every training face as it is, not augmented,
        read once before training, so that its cost is paid once instead of at every step."""
        if self.teacher is None or self.s.teacher_reads != "original":
            return None
        return self._read_all(self.teacher, "the teacher reads the training faces")

    def _read_all(self, model: Teacher, desc: str, batch: int = 512) -> torch.Tensor:
        """A saved model's logits for every training face as it is, with a progress bar."""
        outs = []
        with torch.autocast(torch.device(self.s.device).type, dtype=torch.bfloat16, enabled=self.bf16):
            for i in _bar(range(0, len(self.train.y), batch), self.s.progress, desc):
                outs.append(model.logits(self.train.x[i : i + batch].to(self.s.device).float() / 255.0))
        return torch.cat(outs).cpu()

    def _boosting(self) -> torch.Tensor:
        """With --boost-from: a weight per training face that grows with how wrong that model is on it
        (modeling.distillation.error_weights); the model and --boost join the plan a checkpoint must match."""
        if self.s.boost_from is None:
            return torch.ones(len(self.train.y))
        if self.s.boost <= 0:
            raise ModelError("--boost must be positive")
        self.plan.update(boost_from=str(self.s.boost_from), boost=self.s.boost)
        model = Teacher(self.s.boost_from, self.labels, self.size, self.s.device, role="--boost-from model")
        w = error_weights(self._read_all(model, "the boosted model reads the training faces"), self.train.y,
                          model.temperature, self.s.boost)
        log.info("boosting from %s: the faces weigh %.2f to %.2f", self.s.boost_from, float(w.min()), float(w.max()))
        return w

    def _negative_group(self) -> torch.Tensor:
        """Which labels are negative, for --negative-weight (which then joins the plan a checkpoint must match)."""
        negative = torch.tensor([label in NEGATIVE_LABELS for label in self.labels])
        mixed = bool(negative.any()) and not bool(negative.all())
        if self.s.negative_weight < 0 or (self.s.negative_weight and not mixed):
            raise ModelError("--negative-weight must be positive, and training must hold negative and other labels")
        if self.s.negative_weight:
            self.plan["negative_weight"] = self.s.negative_weight
        return negative.to(self.s.device)

    def _scheduler(self) -> torch.optim.lr_scheduler.LRScheduler:
        """One cycle (warm-up a fifth, at least two steps), or for SWA a constant rate after one epoch's warm-up."""
        total = self.plan["total_steps"]
        if self.s.schedule == "swa":
            return torch.optim.lr_scheduler.LinearLR(self.opt, start_factor=0.1, total_iters=self.steps)
        return torch.optim.lr_scheduler.OneCycleLR(self.opt, max_lr=self.s.lr, total_steps=total,
                                                   pct_start=min(0.5, max(0.2, 2 / total)))

    @property
    def kept(self) -> nn.Module:
        """The network that is validated and saved: the running average of the epochs' weights under SWA."""
        return self.net if self.averaged is None else self.averaged.module

    @property
    def checkpoint(self) -> Path:
        return self.s.out.with_suffix(".ckpt")

    def _init_from(self, path: Path) -> None:
        from safetensors.torch import load_file

        state = single_network(load_file(str(path)) if path.suffix == ".safetensors"
                               else torch.load(path, weights_only=True), str(path))
        own = self.net.state_dict()
        if widens(state, own):
            state = widen(state, own, self.s.seed)
            log.info("widened the network of %s to %s's width, computing what it computed", path, self.s.arch)
        fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        if not any(v.dim() > 1 for v in fitting.values()):  # normalisation and biases alone teach nothing
            raise ModelError(f"no weights in {path} fit architecture {self.s.arch}")
        self.net.load_state_dict(fitting, strict=False)
        if "normalise.mean" in fitting:  # the network normalises as the weights it starts from were trained to
            self.mean, self.std = float(fitting["normalise.mean"]), float(fitting["normalise.std"])
        log.info("initialised %d of %d tensors from %s", len(fitting), len(own), path)
        if _trained_with_seed(path) == str(self.s.seed):
            log.warning("%s was trained with --seed %d: this run replays its shuffling and augmentation draws; "
                        "pass another --seed for fresh ones", path, self.s.seed)

    def save_checkpoint(self) -> None:
        torch.save(
            {
                "net": self.net.state_dict(),
                "opt": self.opt.state_dict(),
                "sched": self.sched.state_dict(),
                "gen": self.gen.get_state(),
                "rng": torch.get_rng_state(),
                "state": asdict(self.state),
                "labels": self.labels,
                "plan": self.plan,
                **({} if self.averaged is None else {"averaged": self.averaged.state_dict()}),
            },
            self.checkpoint,
        )

    def resume(self) -> bool:
        if not self.checkpoint.exists():
            return False
        ck = torch.load(self.checkpoint, weights_only=True)
        if ck["labels"] != self.labels:
            raise ModelError(f"checkpoint {self.checkpoint} has labels {ck['labels']}, data has {self.labels}")
        if ck.get("plan", {"schedule": "onecycle", "total_steps": ck["sched"].get("total_steps")}) != self.plan:
            raise ModelError(f"checkpoint {self.checkpoint} was made with another --epochs, --batch-size, "
                             "--schedule, --teacher, --boost-from, --negative-weight or data (its plan differs): "
                             "resume with the same command, or delete it")
        self.net.load_state_dict(ck["net"])
        if self.averaged is not None:
            self.averaged.load_state_dict(ck["averaged"])
        self.opt.load_state_dict(ck["opt"])
        self.sched.load_state_dict(ck["sched"])
        self.gen.set_state(ck["gen"])
        if "rng" in ck:  # dropout draws from torch's global generator
            torch.set_rng_state(ck["rng"])
        self.state = State(**ck["state"])
        log.info("resumed from %s after epoch %d", self.checkpoint, self.state.epoch)
        return True

    def train_epoch(self) -> tuple[float, float]:
        self.net.train()
        if self.frozen is not None:
            self.frozen.eval()
        order = torch.randperm(len(self.train.y), generator=self.gen)
        total, right, seen = 0.0, 0, 0
        bar = _bar(range(self.steps), self.s.progress, f"epoch {self.state.epoch + 1}/{self.s.epochs}")
        for step in bar:
            idx = order[step * self.s.batch_size : (step + 1) * self.s.batch_size]
            x = augment(self.train.x[idx].float() / 255.0, PRESETS[self.s.augment], self.gen)
            x = x.to(self.s.device).contiguous(memory_format=torch.channels_last)
            y = self.train.y[idx].to(self.s.device)
            taught = None if self.taught is None else self.taught[idx].to(self.s.device)
            soft = self.train.soft[idx].to(self.s.device) if self.soft else None
            loss, logits = self._step(x, y, self.face_weights[idx].to(self.s.device), taught, soft)
            total += loss * len(idx)
            right += int((logits.argmax(1) == y).sum())
            seen += len(idx)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{total / seen:.3f}", acc=f"{right / seen:.3f}")
        return total / seen, right / seen

    def _step(self, x: torch.Tensor, y: torch.Tensor, face_w: torch.Tensor,
              taught: torch.Tensor | None = None, soft: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
        with torch.autocast(torch.device(self.s.device).type, dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.net(x).float()
            loss = self._loss(logits, x, y, face_w, taught, soft)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step()
        return float(loss.detach()), logits.detach()

    def _loss(self, logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor, face_w: torch.Tensor,
              taught: torch.Tensor | None = None, soft: torch.Tensor | None = None) -> torch.Tensor:
        """Weighted cross-entropy on the labels, or with `soft` on the annotators' vote shares (plus the
        negative-or-not loss), blended with a teacher's (its logits for x, or `taught`: what it read of these
        faces before augmentation)."""
        w = (torch.ones(len(self.labels)) if self.weights is None else self.weights).to(x.device)
        target = y if soft is None else soft
        per_face = F.cross_entropy(logits.float(), target, weight=w, label_smoothing=self.s.label_smoothing,
                                   reduction="none")
        face_class_w = w[y] if soft is None else soft @ w
        hard = (per_face * face_w).sum() / (face_class_w * face_w).sum()
        if self.s.negative_weight:
            hard = hard + self.s.negative_weight * _weighted_mean(group_loss(logits, y, self.negative), face_w)
        if self.teacher is None:
            return hard
        soft = soft_loss(logits, self.teacher.logits(x) if taught is None else taught, self.s.distill_temperature)
        return blend(hard, _weighted_mean(soft, face_w), self.s.distill)

    def validate(self, net: nn.Module | None = None) -> tuple[float, float, torch.Tensor]:
        logits = evaluate_logits(self.kept if net is None else net, self.val.x, self.s.device)
        loss = float(F.cross_entropy(logits, self.val.y))
        return loss, float((logits.argmax(1) == self.val.y).float().mean()), logits

    def run(self) -> ModelMeta:
        started = time.monotonic()
        self.resume()
        while self.state.epoch < self.s.epochs and not self._should_stop(started):
            self._one_epoch()
        return self.finish()

    def _should_stop(self, started: float) -> bool:
        st = self.state
        if st.epoch - st.best_epoch >= self.s.patience:
            log.info("early stop: no better validation accuracy for %d epochs", self.s.patience)
            return True
        if self.s.max_minutes and (time.monotonic() - started) / 60 > self.s.max_minutes:
            log.info("stopping: the time limit of %.0f minutes is spent", self.s.max_minutes)
            return True
        return False

    def _one_epoch(self) -> None:
        t0 = time.monotonic()
        train_loss, train_acc = self.train_epoch()
        self._average()
        val_loss, val_acc, _ = self.validate()
        st = self.state
        st.epoch += 1
        st.history.append({"epoch": st.epoch, "train_loss": train_loss, "train_acc": train_acc,
                           "val_loss": val_loss, "val_acc": val_acc, "seconds": time.monotonic() - t0})
        log.info("epoch %d: train loss %.3f acc %.3f, val loss %.3f acc %.3f (%.0f s)",
                 st.epoch, train_loss, train_acc, val_loss, val_acc, time.monotonic() - t0)
        if val_acc > st.best_acc:
            st.best_acc, st.best_epoch = val_acc, st.epoch
        if st.best_epoch == st.epoch or self.s.keep == "last":
            save_model(self.kept, self._meta(1.0, {}), self.s.out)
        self.save_checkpoint()
        charts.training_curves(st.history, self.s.out.with_name(self.s.out.stem + "-curves.png"))

    def _average(self) -> None:
        """Under SWA, fold this epoch's weights into the average and refit its batch norms on the training faces."""
        if self.averaged is None:
            return
        self.averaged.update_parameters(self.net)
        batches = (self.train.x[i : i + 512].to(self.s.device).float().div(255).contiguous(
            memory_format=torch.channels_last) for i in range(0, len(self.train.y), 512))
        update_bn(batches, self.averaged.module, device=torch.device(self.s.device))
        log.info("averaged the weights of %d epochs", int(self.averaged.n_averaged))

    def _meta(self, temperature: float, extra: dict[str, Any]) -> ModelMeta:
        template = fer_template(self.size) if self.s.framing == "aligned" else None
        return ModelMeta(name=self.s.out.stem, arch=self.s.arch, labels=self.labels, input_size=self.size,
                         mean=self.mean, std=self.std, temperature=temperature, template=template, extra=extra)

    @property
    def kept_epoch(self) -> int:
        """The epoch whose weights are saved: the best-validating one, or with --keep last the last one run."""
        return self.state.epoch if self.s.keep == "last" else self.state.best_epoch

    def finish(self) -> ModelMeta:
        """Reload the kept epoch, fit a temperature on validation, and write the final metadata."""
        from worker.models.modelfile import load_model

        self.net, _ = load_model(self.s.out, self.s.device)
        _, acc, logits = self.validate(self.net)
        # fitted to the annotators' vote shares where there are votes: a face they disagree on should read uncertain
        temperature = metrics.fit_temperature(logits, self.val.soft if self.soft else self.val.y)
        probs_raw = torch.softmax(logits, 1).numpy()
        probs_cal = torch.softmax(logits / temperature, 1).numpy()
        extra = {
            "val_accuracy": acc,
            "best_epoch": self.state.best_epoch,
            "kept_epoch": self.kept_epoch,
            "epochs_run": self.state.epoch,
            "ece_before": metrics.ece(probs_raw, self.val.y.tolist()),
            "ece_after": metrics.ece(probs_cal, self.val.y.tolist()),
            "settings": {k: str(v) for k, v in asdict(self.s).items()},
            "history": self.state.history,
        }
        meta = self._meta(temperature, extra)
        save_model(self.net, meta, self.s.out)
        log.info("kept epoch %d: val acc %.4f; temperature %.3f, ECE %.4f -> %.4f", self.kept_epoch,
                 acc, temperature, extra["ece_before"], extra["ece_after"])
        return meta


def _trained_with_seed(path: Path) -> str | None:
    """The --seed the model at path was trained with (its first network's, for a joined model), if recorded."""
    if not meta_path(path).exists():
        return None
    record = network_records(read_meta(path).extra)[0]  # a joined model's members' records nest
    seed = (record.get("settings") or {}).get("seed")
    return None if seed is None else str(seed)


def _weighted_mean(per_face: torch.Tensor, face_w: torch.Tensor) -> torch.Tensor:
    return (per_face * face_w).sum() / face_w.sum()


def _keep(faces: FaceSet, labels: set[str]) -> FaceSet:
    keep = [i for i, label in enumerate(faces.labels) if label in labels]
    return FaceSet(faces.images[keep], [faces.labels[i] for i in keep], [faces.paths[i] for i in keep])


def _bar(it: range, show: bool, desc: str) -> Any:
    if not show:
        return it
    from tqdm import tqdm

    return tqdm(it, desc=desc, unit="batch", leave=True, mininterval=5)


def train(s: TrainSettings) -> ModelMeta:
    if s.arch not in TRAINABLE:
        raise ModelError(f"{s.arch!r} is not trained as one network; choose one of {', '.join(TRAINABLE)}")
    if s.threads:
        torch.set_num_threads(s.threads)
    return Trainer(s).run()
