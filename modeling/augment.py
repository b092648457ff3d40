"""Batched augmentation on N x 1 x S x S tensors in [0, 1]: one affine warp, photometric jitter, erasing."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentSettings:
    rotation_deg: float = 15.0
    scale: tuple[float, float] = (0.85, 1.15)
    shift: float = 0.1
    brightness: float = 0.3
    contrast: float = 0.35
    gamma: float = 0.3
    erase_p: float = 0.25
    blur_p: float = 0.2


PRESETS: dict[str, AugmentSettings] = {
    "strong": AugmentSettings(),
    "light": AugmentSettings(rotation_deg=10.0, scale=(0.9, 1.1), shift=0.08, brightness=0.25,
                             contrast=0.3, gamma=0.25, erase_p=0.1, blur_p=0.1),
}


def _affine(n: int, s: AugmentSettings, g: torch.Generator) -> torch.Tensor:
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(s.rotation_deg)
    scale = torch.empty(n).uniform_(s.scale[0], s.scale[1], generator=g)
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    tx, ty = ((torch.rand(2, n, generator=g) * 2 - 1) * s.shift * 2).unbind(0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    row0 = torch.stack([cos * flip, -sin, tx], 1)
    row1 = torch.stack([sin * flip, cos, ty], 1)
    return torch.stack([row0, row1], 1)


def _photometric(x: torch.Tensor, s: AugmentSettings, g: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    shape = (n, 1, 1, 1)
    gamma = torch.exp((torch.rand(shape, generator=g) * 2 - 1) * s.gamma)
    x = x.clamp(1e-4, 1).pow(gamma)
    mean = x.mean(dim=(2, 3), keepdim=True)
    contrast = 1 + (torch.rand(shape, generator=g) * 2 - 1) * s.contrast
    bright = (torch.rand(shape, generator=g) * 2 - 1) * s.brightness * 0.5
    return ((x - mean) * contrast + mean + bright).clamp(0, 1)


def _blur(x: torch.Tensor, s: AugmentSettings, g: torch.Generator) -> torch.Tensor:
    """Camera softness: some faces are downscaled and scaled back up."""
    pick = torch.rand(x.shape[0], generator=g) < s.blur_p
    if not pick.any():
        return x
    size = x.shape[-1]
    low = F.interpolate(x[pick], scale_factor=0.5, mode="bilinear", align_corners=False)
    x = x.clone()
    x[pick] = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    return x


def _erase(x: torch.Tensor, s: AugmentSettings, g: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    pick = torch.rand(n, generator=g) < s.erase_p
    eh = (torch.rand(n, generator=g) * 0.3 + 0.1) * h
    ew = (torch.rand(n, generator=g) * 0.3 + 0.1) * w
    y0 = torch.rand(n, generator=g) * (h - eh)
    x0 = torch.rand(n, generator=g) * (w - ew)
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    box = (ys >= y0.view(n, 1, 1)) & (ys < (y0 + eh).view(n, 1, 1))
    box = box & (xs >= x0.view(n, 1, 1)) & (xs < (x0 + ew).view(n, 1, 1))
    mask = (box & pick.view(n, 1, 1)).unsqueeze(1)
    return torch.where(mask, torch.rand(n, 1, 1, 1, generator=g).expand_as(x), x)


def augment(x: torch.Tensor, s: AugmentSettings, g: torch.Generator) -> torch.Tensor:
    """Random flip, rotation, scale and shift in one warp, then lighting, blur and erasing."""
    grid = F.affine_grid(_affine(x.shape[0], s, g), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return _erase(_blur(_photometric(x, s, g), s, g), s, g)
