"""The on-disk model format: <stem>.safetensors (weights) beside <stem>.json (metadata).

safetensors holds only tensors, so loading a model never runs pickled code.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save
from torch import nn

from affectwatch.exceptions import ModelError
from affectwatch.labels import canonical
from worker.models.nets import build
from worker.preprocess import Framing

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "weights" / "affectwatch-fer.safetensors"
STORAGE = {"float32": torch.float32, "float16": torch.float16}  # how a model's weights may be saved; they load as fp32


@dataclass
class ModelMeta:
    """What the worker needs to run a model, and what it was measured to do."""

    name: str
    arch: str
    labels: list[str]
    input_size: int
    colour: str = "grey"
    mean: float = 0.5
    std: float = 0.25
    temperature: float = 1.0
    margin: float = 0.2
    template: list[list[float]] | None = None  # landmark points the faces are aligned to (see worker.preprocess)
    extra: dict[str, Any] = field(default_factory=dict)
    # one offset a label, added to the logits after the temperature (fitted to annotators' vote shares: it undoes
    # the prior that class weighting in training taught); None: no offsets
    label_bias: list[float] | None = None

    def calibrated(self, logits: torch.Tensor) -> torch.Tensor:
        """The logits the probabilities and the most likely label are read from: divided by the temperature,
        plus each label's offset."""
        out = logits / self.temperature
        if self.label_bias is not None:
            out = out + torch.tensor(self.label_bias, dtype=out.dtype, device=out.device)
        return out

    @cached_property
    def framing(self) -> Framing:
        """How the worker cuts faces for this model: as its training faces were cut."""
        template = tuple((float(x), float(y)) for x, y in self.template) if self.template else None
        return Framing(self.margin, template, self.input_size)

    def __post_init__(self) -> None:
        self.labels = [canonical(label) for label in self.labels]
        if len(set(self.labels)) != len(self.labels):
            raise ModelError(f"model {self.name!r} repeats a label: {self.labels}")
        if self.colour != "grey":
            raise ModelError(f"model {self.name!r}: only grey input is supported, not {self.colour!r}")
        if self.temperature <= 0:
            raise ModelError(f"model {self.name!r}: temperature must be positive")
        if self.label_bias is not None and (len(self.label_bias) != len(self.labels) or not all(
                isinstance(b, int | float) and math.isfinite(b) for b in self.label_bias)):
            raise ModelError(f"model {self.name!r}: label_bias must hold one finite number for each of its "
                             f"{len(self.labels)} labels")
        if self.template is not None and not all(isinstance(pt, list) and len(pt) == 2 for pt in self.template):
            raise ModelError(f"model {self.name!r}: template must be a list of [x, y] points")


def meta_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def read_meta(weights: Path) -> ModelMeta:
    path = meta_path(weights)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ModelError(f"model metadata {path} is missing") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"model metadata {path} is not valid JSON: {exc}") from exc
    try:
        return ModelMeta(**raw)
    except TypeError as exc:
        raise ModelError(f"model metadata {path} does not fit: {exc}") from exc


def stored(net: nn.Module, storage: str = "float32") -> dict[str, torch.Tensor]:
    """The network's tensors as saving them in this storage writes them: floating ones rounded to its dtype."""
    if storage not in STORAGE:
        raise ModelError(f"weights can be stored as {', '.join(STORAGE)}, not {storage!r}")
    dtype = STORAGE[storage]
    state = net.state_dict().items()
    return {k: (v.to(dtype) if v.is_floating_point() else v).detach().cpu().contiguous() for k, v in state}


def round_to_storage(net: nn.Module, storage: str) -> None:
    """Round the network's weights as saving them in this storage will, so that what is measured is what ships."""
    net.load_state_dict(stored(net, storage))


def save_model(net: nn.Module, meta: ModelMeta, weights: Path, storage: str = "float32") -> None:
    """Write the weights (in float32, or float16 for half the size; they load as float32) and the metadata.
    Written through Python's own file creation, not safetensors' save_file, whose files are owner-only (0600)
    whatever the umask: a worker running as another user must read the weights as it reads the metadata."""
    state = stored(net, storage)
    weights.parent.mkdir(parents=True, exist_ok=True)
    weights.write_bytes(save(state))
    meta_path(weights).write_text(json.dumps(asdict(meta), indent=2) + "\n")


def load_model(weights: Path, device: str = "cpu") -> tuple[nn.Module, ModelMeta]:
    """Build the network the metadata names and fill it from the safetensors file."""
    meta = read_meta(weights)
    if not weights.exists():
        raise ModelError(f"model weights {weights} are missing")
    net = build(meta.arch, len(meta.labels), meta.mean, meta.std)
    try:
        net.load_state_dict(load_file(str(weights), device="cpu"))
    except RuntimeError as exc:
        raise ModelError(f"weights {weights} do not fit architecture {meta.arch!r}: {exc}") from exc
    return net.to(torch.device(device)).eval(), meta
