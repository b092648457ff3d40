"""Network architectures, built by name. Input: N x 1 x S x S grey in [0, 1]."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torchvision.models import resnet18

from affectwatch.exceptions import ModelError


class Normalise(nn.Module):
    """Fixed mean and standard deviation, kept in the network so preprocessing stays pure."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean))
        self.register_buffer("std", torch.tensor(std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _block(cin: int, cout: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Dropout2d(dropout),
    )


class FaceNet(nn.Module):
    """A compact VGG-style network for 48-64 px grey faces (0.66 M parameters at width 24)."""

    def __init__(self, num_classes: int, mean: float, std: float, width: int = 32) -> None:
        super().__init__()
        w = width
        self.normalise = Normalise(mean, std)
        self.features = nn.Sequential(
            _block(1, w, 0.05),
            _block(w, 2 * w, 0.1),
            _block(2 * w, 4 * w, 0.15),
            _block(4 * w, 8 * w, 0.2),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(0.4),
            nn.Linear(8 * w, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(self.normalise(x)))
        return out


class FaceNetFC(FaceNet):
    """FaceNet with a fully connected head over the last 3 x 3 map instead of global pooling.

    Faces arrive aligned, so where a feature is (brow, mouth corner) carries meaning that global
    average pooling throws away. 1.1 M parameters at width 24; the head adds little compute.
    """

    def __init__(self, num_classes: int, mean: float, std: float, width: int = 24, hidden: int = 256) -> None:
        super().__init__(num_classes, mean, std, width)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(8 * width * 9, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(hidden, num_classes),
        )


class ResidualBlock(nn.Module):
    """FaceNet's two 3x3 convolutions with a shortcut around them and squeeze-and-excitation on their output."""

    def __init__(self, cin: int, cout: int, dropout: float, squeeze: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
        )
        self.excite = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(cout, cout // squeeze, 1), nn.ReLU(inplace=True),
            nn.Conv2d(cout // squeeze, cout, 1), nn.Sigmoid(),
        )
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.out = nn.Sequential(nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Dropout2d(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        out: torch.Tensor = self.out(y * self.excite(y) + self.shortcut(x))
        return out


class FaceResNet(FaceNet):
    """FaceNet's layout with residual, squeeze-and-excitation blocks after the first: a network of another kind to join.

    2.79 M parameters at width 48 (facenet48-xl: 2.64 M). The first block, reading one grey channel at full
    size, stays plain: a shortcut there cost 40% more time a step for little.
    """

    def __init__(self, num_classes: int, mean: float, std: float, width: int = 48) -> None:
        super().__init__(num_classes, mean, std, width)
        w = width
        self.features = nn.Sequential(
            _block(1, w, 0.05),
            ResidualBlock(w, 2 * w, 0.1),
            ResidualBlock(2 * w, 4 * w, 0.15),
            ResidualBlock(4 * w, 8 * w, 0.2),
        )


class GreyResNet18(nn.Module):
    """torchvision's ResNet-18 fed a grey face repeated over three channels (the report's setup)."""

    def __init__(self, num_classes: int, mean: float, std: float) -> None:
        super().__init__()
        self.normalise = Normalise(mean, std)
        self.body = resnet18(weights=None, num_classes=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(self.normalise(x).expand(-1, 3, -1, -1))
        return out


class Ensemble(nn.Module):
    """Networks trained apart (or one alone), each reading the face and its mirror image: the mean of their logits.

    Built by `affectwatch combine` from trained models; not trained as one (`affectwatch train` refuses it).
    Its architecture is named MIRRORED and the members' architectures, e.g. "mirror:facenet48,facenet48-fc".
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        both = torch.cat([x, torch.flip(x, [3])])
        logits = torch.stack([member(both) for member in self.members]).mean(0)
        out: torch.Tensor = (logits[: len(x)] + logits[len(x) :]) / 2
        return out


def single_network(state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """A single network's weights; those of an Ensemble of one network (mirror:NAME) give its member's."""
    prefix = "members.0."
    if not any(k.startswith("members.") for k in state):
        return state
    if any(k.startswith("members.") and not k.startswith(prefix) for k in state):
        raise ModelError(f"{source} joins several networks; start from one of them")
    return {k.removeprefix(prefix): v for k, v in state.items()}


ARCHITECTURES: dict[str, Callable[[int, float, float], nn.Module]] = {
    "facenet48": lambda n, m, s: FaceNet(n, m, s, width=24),
    "facenet48-wide": lambda n, m, s: FaceNet(n, m, s, width=32),
    "facenet48-xl": lambda n, m, s: FaceNet(n, m, s, width=48),
    "facenet48-fc": lambda n, m, s: FaceNetFC(n, m, s, width=24),
    "facenet48-res": lambda n, m, s: FaceResNet(n, m, s, width=48),
    "resnet18": GreyResNet18,
}

DEFAULT_INPUT_SIZE: dict[str, int] = {"facenet48": 48, "facenet48-wide": 48, "facenet48-xl": 48, "facenet48-fc": 48,
                                      "facenet48-res": 48, "resnet18": 64}
TRAINABLE = tuple(ARCHITECTURES)
MIRRORED = "mirror:"
ALIASES = {"facenet48x2": "mirror:facenet48,facenet48"}  # an early name for two facenet48 joined (old model files)


def members(arch: str) -> list[str]:
    """The architectures an ensemble's name lists, or [] for a single network."""
    arch = ALIASES.get(arch, arch)
    return arch.removeprefix(MIRRORED).split(",") if arch.startswith(MIRRORED) else []


def known(arch: str) -> bool:
    return all(a in ARCHITECTURES for a in members(arch) or [arch])


def build(arch: str, num_classes: int, mean: float, std: float) -> nn.Module:
    """Instantiate an architecture by name, with random weights, channels-last (faster on CPU)."""
    if not known(arch):
        raise ModelError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}, "
                         f"or {MIRRORED} and some of them, comma-separated")
    nets = [ARCHITECTURES[a](num_classes, mean, std) for a in members(arch) or [arch]]
    net = Ensemble(nets) if members(arch) else nets[0]
    return net.to(memory_format=torch.channels_last)


def fold_batch_norms(net: nn.Module) -> nn.Module:
    """For inference: each BatchNorm2d that directly follows a Conv2d in a Sequential folded into that convolution.

    The same function (to float rounding, about 1e-6 of the logits) without the normalisation's pass over every
    activation map, about a tenth of a FaceNet's time on a CPU. In place, on a network in eval mode; returns it.
    """
    if net.training:
        raise ModelError("batch norms are folded for inference only: put the network in eval mode first")
    for module in list(net.modules()):
        if not isinstance(module, nn.Sequential):
            continue
        for i in range(len(module) - 1):
            conv, norm = module[i], module[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                module[i] = fuse_conv_bn_eval(conv, norm)
                module[i + 1] = nn.Identity()
    return net
