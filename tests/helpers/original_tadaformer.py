"""TAdaFormer written the way the authors' code computes it: the tests' oracle for their formulation, and the
baseline of `benchmarks/model_speed.py --family tadaformer`.

The authors keep tokens as (L, N, C) with N = clips * frames, run PyTorch's nn.MultiheadAttention (one packed input
projection), reshape the patch tokens to (B, C, T, H, W) for each TAda block, project with Linear or (temporally
enhanced) Conv3d layers, evaluate TAdaConv2dV2 as a grouped convolution with one calibrated kernel per clip, frame and
channel, and aggregate with BatchNorm3d. This file reproduces that formulation from the paper and the notes on the
original code (facts only, no code copied); its state-dict keys are the authors', so their checkpoints load into it
unchanged, and a test checks it against the golden outputs of their implementation.

Inputs are (B, T, C, H, W) like our model's, permuted to the authors' (B, C, T, H, W) inside `forward`.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .original_tadaconvnextv2 import OriginalRouteFunction, OriginalTadaConv2dV2, quick_gelu


class OriginalTadaConvWithAggregation(OriginalTadaConv2dV2):
    """TAdaConv2dV2 with its own route function and the temporal aggregation BN(y) + BN'(avgpool_time(y)) inside."""

    def __init__(self, channels, route_reduction, route_kernels, head_dim=64):
        super().__init__(channels, kernel_size=3)
        self.rf_func = OriginalRouteFunction(channels, route_reduction, route_kernels, head_dim, offset=0.0)
        self.bn_a = nn.BatchNorm3d(channels)
        self.bn_b = nn.BatchNorm3d(channels)

    def forward(self, x):
        y = super().forward(x, *self.rf_func(x))
        pooled = F.avg_pool3d(F.pad(y, (0, 0, 0, 0, 1, 1)), (3, 1, 1), stride=1)  # zero padding counted
        return self.bn_a(y) + self.bn_b(pooled)


class OriginalTadaBlock(nn.Module):
    def __init__(self, width, reduction, route_reduction, route_kernels, enhanced, head_dim):
        super().__init__()
        middle = width // reduction
        self.enhanced = enhanced
        self.tada_pre_proj = (nn.Conv3d(width, middle, (3, 1, 1), padding=(1, 0, 0)) if enhanced
                              else nn.Linear(width, middle))
        self.tadaconv = OriginalTadaConvWithAggregation(middle, route_reduction, route_kernels, head_dim)
        self.tada_proj = nn.Conv3d(middle, width, 1) if enhanced else nn.Linear(middle, width)

    def forward(self, x, num_frames):
        """(L, B*T, C) patch tokens (a square grid) -> what the block adds to them."""
        side = int(x.shape[0] ** 0.5)

        def as_video(tokens):  # (H*W, B*T, C) -> (B, C, T, H, W)
            return tokens.reshape(side, side, -1, num_frames, tokens.shape[-1]).permute(2, 4, 3, 0, 1)

        def as_tokens(video):
            return video.permute(3, 4, 0, 2, 1).reshape(side * side, -1, video.shape[1])

        if self.enhanced:
            x = self.tada_proj(quick_gelu(self.tadaconv(self.tada_pre_proj(as_video(x)))))
            return as_tokens(x)
        x = as_tokens(self.tadaconv(as_video(self.tada_pre_proj(x))))
        return self.tada_proj(quick_gelu(x))


class OriginalLayer(nn.Module):
    def __init__(self, width, heads, reduction, route_reduction, route_kernels, enhanced, double, head_dim):
        super().__init__()
        self.tada = OriginalTadaBlock(width, reduction, route_reduction, route_kernels, enhanced, head_dim)
        if double:
            self.tada2 = OriginalTadaBlock(width, reduction, route_reduction, route_kernels, enhanced, head_dim)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, 4 * width))
        self.mlp.add_module("c_proj", nn.Linear(4 * width, width))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x, num_frames):
        x = x + torch.cat([torch.zeros_like(x[:1]), self.tada(x[1:], num_frames)])
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        if hasattr(self, "tada2"):
            x = x + torch.cat([torch.zeros_like(x[:1]), self.tada2(x[1:], num_frames)])
        return x + self.mlp.c_proj(quick_gelu(self.mlp.c_fc(self.ln_2(x))))


class OriginalBackbone(nn.Module):
    def __init__(self, width, layers, heads, patch, image_size, tubelet=3, tubelet_stride=2, reduction=2,
                 route_reduction=2, route_kernels=(3, 3), enhanced=False, double=False, head_dim=64):
        super().__init__()
        self.conv1 = nn.Conv3d(3, width, (tubelet, patch, patch), stride=(tubelet_stride, patch, patch),
                               padding=(tubelet // 2, 0, 0), bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn((image_size // patch) ** 2 + 1, width) * width ** -0.5)
        self.ln_pre = nn.LayerNorm(width)
        self.layers = nn.ModuleList(
            OriginalLayer(width, heads, reduction, route_reduction, route_kernels, enhanced, double, head_dim)
            for _ in range(layers))
        self.ln_post = nn.LayerNorm(width)

    def forward(self, video):
        x = self.conv1(video)
        batch, width, frames = x.shape[:3]
        x = x.permute(0, 2, 3, 4, 1).reshape(batch * frames, -1, width)
        x = torch.cat([self.class_embedding + torch.zeros(x.shape[0], 1, width, dtype=x.dtype), x], dim=1)
        x = self.ln_pre(x + self.positional_embedding).permute(1, 0, 2)  # (L, N, C)
        for layer in self.layers:
            x = layer(x, frames)
        return self.ln_post(x[0].reshape(batch, frames, width).mean(1))


class OriginalHead(nn.Module):
    def __init__(self, width, num_classes):
        super().__init__()
        self.out = nn.Linear(width, num_classes)


class OriginalTadaFormer(nn.Module):
    """The authors' `BaseVideoModel` with a VisionTransformer backbone of TAdaFormerBlock layers and a BaseHead;
    returns logits (no dropout at eval, no softmax)."""

    def __init__(self, width, layers, heads, patch, image_size, num_classes, **backbone_kwargs):
        super().__init__()
        self.backbone = OriginalBackbone(width, layers, heads, patch, image_size, **backbone_kwargs)
        self.head = OriginalHead(width, num_classes)

    def forward(self, pixel_values):
        return self.head.out(self.backbone(pixel_values.transpose(1, 2)))
