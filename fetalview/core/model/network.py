"""The Residual UNet: the one model definition shared by the app and the training module."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; stored beside the weights and checked on load."""

    base_width: int = 16
    depth: int = 5
    input_height: int = 256
    input_width: int = 384

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def stride(self) -> int:
        """Input sides must be multiples of this."""
        return 2 ** (self.depth - 1)


class ResidualBlock(nn.Module):
    """Two 3x3 conv-BN-ReLU layers plus a projection shortcut when the width changes."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
        )
        self.shortcut = (nn.Identity() if in_ch == out_ch else
                         nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, bias=False),
                                       nn.BatchNorm2d(out_ch)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x), inplace=True)


class ResidualUNet(nn.Module):
    """UNet with residual blocks in encoder and decoder, for one-channel scans.

    Args:
        config: widths double at each of ``depth`` levels starting from ``base_width``; the
            input size in the config is what the model was trained at (the network itself
            accepts any size that is a multiple of ``config.stride``).

    ``forward`` returns one logit per pixel: positive inside the fetal head.
    """

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        widths = [config.base_width * 2 ** i for i in range(config.depth)]
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        in_ch = 1
        for i, w in enumerate(widths):
            self.encoders.append(ResidualBlock(in_ch, w))
            if i < len(widths) - 1:
                self.downs.append(nn.Conv2d(w, w, 3, stride=2, padding=1, bias=False))
            in_ch = w
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for w_skip, w_deep in zip(reversed(widths[:-1]), reversed(widths[1:])):
            self.ups.append(nn.Conv2d(w_deep, w_skip, 1, bias=False))
            self.decoders.append(ResidualBlock(2 * w_skip, w_skip))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        s = self.config.stride
        if h % s or w % s:
            raise ValueError(f"input {h}x{w} is not a multiple of {s}; pad to "
                             f"{-(-h // s) * s}x{-(-w // s) * s}")
        skips = []
        for i, enc in enumerate(self.encoders):
            x = enc(x)
            if i < len(self.downs):
                skips.append(x)
                x = self.downs[i](x)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = F.interpolate(up(x), size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = dec(torch.cat([x, skip], dim=1))
        return self.head(x)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
