"""A trained FaceNet made wider without changing what it computes (Net2WiderNet, Chen et al. 2016).

Each new channel copies a randomly chosen old one (its convolution and batch norm); the layer after divides the
weights it reads from each copied channel by how many copies there are, so every output stays as it was. A
little noise on the copies lets training pull them apart. Pure: state dicts in, a state dict out.
"""

from __future__ import annotations

import torch

from affectwatch.exceptions import ModelError

BLOCKS = 4
CONVS = (0, 3)  # within a block: conv, bn, relu, conv, bn, relu, pool, dropout
BN_PARTS = ("weight", "bias", "running_mean", "running_var")
HEAD = "head.3.weight"  # the linear layer after global average pooling


def _layers() -> list[tuple[str, str]]:
    return [(f"features.{b}.{c}", f"features.{b}.{c + 1}") for b in range(BLOCKS) for c in CONVS]


def _mapping(old: int, new: int, g: torch.Generator) -> torch.Tensor:
    """Which old channel each new channel copies: the old ones in place, then random repeats."""
    if new < old:
        raise ModelError(f"cannot widen {old} channels to {new}")
    return torch.cat([torch.arange(old), torch.randint(0, old, (new - old,), generator=g)])


def _shared_inputs(w: torch.Tensor, in_map: torch.Tensor) -> torch.Tensor:
    """A layer's weights reading the widened channels: each copy gets its old channel's weight over its copies."""
    copies = torch.bincount(in_map).to(w.dtype)[in_map]
    return w[:, in_map] / copies.view(1, -1, *[1] * (w.dim() - 2))


def _wider_conv(w: torch.Tensor, out_map: torch.Tensor, in_map: torch.Tensor | None, noise: float,
                g: torch.Generator) -> torch.Tensor:
    copies = (torch.arange(len(out_map)) >= w.shape[0]).view(-1, 1, 1, 1)
    if in_map is not None:
        w = _shared_inputs(w, in_map)
    w = w[out_map]
    return w + copies * torch.randn(w.shape, generator=g) * w.std() * noise


def widens(old: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> bool:
    """Whether target is old's FaceNet made wider: the same layers and labels, more channels."""
    return (HEAD in old and set(old) == set(target) and old[HEAD].shape[0] == target[HEAD].shape[0]
            and old[HEAD].shape[1] < target[HEAD].shape[1])


def widen(old: dict[str, torch.Tensor], target: dict[str, torch.Tensor], seed: int = 0,
          noise: float = 0.01) -> dict[str, torch.Tensor]:
    """old's FaceNet weights at target's widths (a FaceNet of the same depth and head); target gives the shapes."""
    if set(old) != set(target) or HEAD not in old:
        raise ModelError("only a FaceNet with the global-pooling head widens into a wider one of the same depth")
    g = torch.Generator().manual_seed(seed)
    out = dict(old)
    in_map: torch.Tensor | None = None
    for conv, bn in _layers():
        out_map = _mapping(old[f"{conv}.weight"].shape[0], target[f"{conv}.weight"].shape[0], g)
        out[f"{conv}.weight"] = _wider_conv(old[f"{conv}.weight"], out_map, in_map, noise, g)
        out.update({f"{bn}.{p}": old[f"{bn}.{p}"][out_map] for p in BN_PARTS})
        in_map = out_map
    assert in_map is not None
    out[HEAD] = _shared_inputs(old[HEAD], in_map)
    return {k: v.contiguous() for k, v in out.items()}
