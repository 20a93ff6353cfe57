"""The heavier peer: a U-Net with a ResNet-34 encoder, as segmentation_models_pytorch builds
``Unet("resnet34")``, written out in plain PyTorch so the benchmark needs nothing extra.

Random weights: only its speed is compared. Encoder: ResNet-34 (3-4-6-3 basic blocks, widths
64-512, a strided 7x7 stem and max-pool); decoder: five upsampling stages with two 3x3
conv-BN-ReLU each (256, 128, 64, 32, 16 channels), as smp's default.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = conv_bn_relu(cin, cout, 3, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.down = (nn.Identity() if stride == 1 and cin == cout else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x):
        return F.relu(self.conv2(self.conv1(x)) + self.down(x))


class ResNet34UNet(nn.Module):
    def __init__(self, in_channels: int = 1):
        super().__init__()
        self.stem = conv_bn_relu(in_channels, 64, 7, 2)
        self.pool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], 64
        for cout, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            stage = [BasicBlock(cin, cout, stride)] + [BasicBlock(cout, cout, 1)
                                                       for _ in range(blocks - 1)]
            layers.append(nn.Sequential(*stage))
            cin = cout
        self.layers = nn.ModuleList(layers)
        skips = [256, 128, 64, 64, 0]  # layer3, layer2, layer1, stem, none
        self.decoder = nn.ModuleList()
        cin = 512
        for skip, cout in zip(skips, (256, 128, 64, 32, 16)):
            self.decoder.append(nn.Sequential(conv_bn_relu(cin + skip, cout),
                                              conv_bn_relu(cout, cout)))
            cin = cout
        self.head = nn.Conv2d(16, 1, 3, padding=1)

    def forward(self, x):
        stem = self.stem(x)
        feats = [stem]
        y = self.pool(stem)
        for layer in self.layers:
            y = layer(y)
            feats.append(y)
        skips = [feats[3], feats[2], feats[1], feats[0], None]
        for block, skip in zip(self.decoder, skips):
            y = F.interpolate(y, scale_factor=2, mode="nearest")
            if skip is not None:
                y = torch.cat([y, skip], dim=1)
            y = block(y)
        return self.head(y)
