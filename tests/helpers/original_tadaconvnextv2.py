"""TAdaConvNeXtV2 written the way the authors' code computes it: the tests' oracle for their formulation, and the
baseline of `benchmarks/model_speed.py --family convnext_v2`.

Our model (hf_video) runs on frames in channels-last memory and evaluates the calibrated depthwise convolution as one
depthwise convolution followed by a multiply. The authors keep clips as (B, C, T, H, W), use Conv3d layers for every
convolution and projection (1x1x1 and kx1x1 kernels over pooled features), permute to channels-last for the LayerNorms
and Linear layers, and evaluate TAdaConv2dV2 by building one calibrated weight per clip and frame and running a grouped
convolution with B*T*C groups. This file reproduces that formulation from the paper and the notes on the original code
(facts only, no code copied). Its state-dict keys are the authors', so their checkpoints load into it unchanged; a test
checks it against the golden outputs of their implementation.

Inputs are (B, T, C, H, W) like our model's, permuted to the authors' (B, C, T, H, W) inside `forward`.
"""

import torch
import torch.nn.functional as F
from torch import nn


class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over axis 1 of (B, C, ...) tensors, with the mean and biased variance written out."""

    def __init__(self, channels, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        variance = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(variance + self.eps)
        shape = (-1,) + (1,) * (x.dim() - 2)
        return self.weight.view(shape) * x + self.bias.view(shape)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class OriginalRouteFunction(nn.Module):
    """Per-frame pooling -> Conv3d (k,1,1) -> LN -> QuickGELU -> + attention -> Conv3d (k,1,1) (+ `offset`: 1 in
    TAdaConvNeXtV2, 0 in TAdaFormer), on (B, C, T, 1, 1) tensors."""

    def __init__(self, channels, reduction=2, kernels=(3, 3), head_dim=48, offset=1.0):
        super().__init__()
        self.offset = offset
        hidden = channels // reduction
        self.head_dim = head_dim
        self.scale = hidden ** -0.5
        self.a = nn.Conv3d(channels, hidden, (kernels[0], 1, 1), padding=(kernels[0] // 2, 0, 0))
        self.norm = ChannelsFirstLayerNorm(hidden)
        self.norm_transformer = ChannelsFirstLayerNorm(hidden)
        self.qkv_proj = nn.Conv3d(hidden, 3 * hidden, 1)
        self.attn_out = nn.Conv3d(hidden, hidden, 1)
        self.b = nn.Conv3d(hidden, channels, (kernels[1], 1, 1), padding=(kernels[1] // 2, 0, 0), bias=False)
        self.b_bias = nn.Conv3d(hidden, channels, (kernels[1], 1, 1), padding=(kernels[1] // 2, 0, 0), bias=False)

    def forward(self, x):
        x = F.adaptive_avg_pool3d(x, (None, 1, 1))
        x = quick_gelu(self.norm(self.a(x)))
        x = x + self.attention(self.norm_transformer(x))
        return self.b(x) + self.offset, self.b_bias(x) + self.offset

    def attention(self, x):
        batch, channels, frames = x.shape[:3]
        heads = channels // self.head_dim
        qkv = self.qkv_proj(x)[:, :, :, 0, 0].reshape(batch, 3, self.head_dim, heads, frames).permute(1, 0, 3, 4, 2)
        scores = (qkv[0] @ qkv[1].transpose(-2, -1) * self.scale).softmax(dim=-1)
        attended = (scores @ qkv[2]).transpose(-2, -1).reshape(batch, channels, frames)
        return self.attn_out(attended[:, :, :, None, None])


class OriginalTadaConv2dV2(nn.Module):
    """The depthwise TAdaConv2dV2 with output-channel calibration, as a grouped convolution over B*T*C groups with
    one calibrated kernel per clip, frame and channel."""

    def __init__(self, channels, kernel_size=7):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, 1, channels, 1, kernel_size, kernel_size) * 0.02)
        self.bias = nn.Parameter(torch.zeros(1, 1, channels))
        self.padding = kernel_size // 2

    def forward(self, x, weight_calibration, bias_calibration):
        batch, channels, frames, height, width = x.shape
        kernel = self.weight.shape[-1]
        stacked = x.permute(0, 2, 1, 3, 4).reshape(1, batch * frames * channels, height, width)
        weights = (weight_calibration.permute(0, 2, 1, 3, 4).unsqueeze(3) * self.weight).reshape(-1, 1, kernel, kernel)
        bias = (bias_calibration.permute(0, 2, 1, 3, 4).reshape(batch, frames, channels) * self.bias).reshape(-1)
        out = F.conv2d(stacked, weights, bias, padding=self.padding, groups=batch * frames * channels)
        return out.view(batch, frames, channels, height, width).permute(0, 2, 1, 3, 4)


class OriginalBlock(nn.Module):
    def __init__(self, channels, head_dim, reduction, kernels):
        super().__init__()
        self.dwconv = OriginalTadaConv2dV2(channels)
        self.dwconv_rf = OriginalRouteFunction(channels, reduction, kernels, head_dim)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.norm_avgpool = nn.LayerNorm(channels, eps=1e-6)
        self.pwconv1 = nn.Linear(channels, 4 * channels)
        self.pwconv2 = nn.Linear(4 * channels, channels)
        self.gamma = nn.Parameter(torch.full((channels,), 1e-6))

    def forward(self, x):
        y = self.dwconv(x, *self.dwconv_rf(x))
        # Their AvgPool3d((3, 1, 1), padding (1, 0, 0)), zero padding counted; padded first, because PyTorch's
        # pool refuses clips of fewer than 3 frames (their model cannot run on them; ours can).
        pooled = F.avg_pool3d(F.pad(y, (0, 0, 0, 0, 1, 1)), (3, 1, 1), stride=1)
        y = self.norm(y.permute(0, 2, 3, 4, 1)) + self.norm_avgpool(pooled.permute(0, 2, 3, 4, 1))
        y = self.gamma * self.pwconv2(quick_gelu(self.pwconv1(y)))
        return x + y.permute(0, 4, 1, 2, 3)


class OriginalBackbone(nn.Module):
    def __init__(self, depths, dims, head_dim, reduction=2, kernels=(3, 3), stem_kernel=3, stem_stride=2):
        super().__init__()
        self.downsample_layers = nn.ModuleList([nn.Sequential(
            nn.Conv3d(3, dims[0], (stem_kernel, 4, 4), stride=(stem_stride, 4, 4),
                      padding=((stem_kernel - 1) // 2, 0, 0)),
            ChannelsFirstLayerNorm(dims[0]))])
        for index in range(3):
            self.downsample_layers.append(nn.Sequential(
                ChannelsFirstLayerNorm(dims[index]),
                nn.Conv3d(dims[index], dims[index + 1], (1, 2, 2), stride=(1, 2, 2))))
        self.stages = nn.ModuleList(
            nn.Sequential(*(OriginalBlock(dim, head_dim, reduction, kernels) for _ in range(depth)))
            for depth, dim in zip(depths, dims))
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)

    def forward(self, x):
        for downsample, stage in zip(self.downsample_layers, self.stages):
            x = stage(downsample(x))
        return self.norm(x.mean((-3, -2, -1)))


class OriginalHead(nn.Module):
    def __init__(self, dim, num_classes):
        super().__init__()
        self.out = nn.Linear(dim, num_classes)


class OriginalTadaConvNextV2(nn.Module):
    """The authors' `BaseVideoModel` with a ConvNeXt backbone of TAdaConvNeXtV2Block branches and a BaseHead;
    returns logits (no dropout at eval, no softmax)."""

    def __init__(self, depths, dims, num_classes, head_dim, **backbone_kwargs):
        super().__init__()
        self.backbone = OriginalBackbone(depths, dims, head_dim, **backbone_kwargs)
        self.head = OriginalHead(dims[-1], num_classes)

    def forward(self, pixel_values):
        return self.head.out(self.backbone(pixel_values.transpose(1, 2)))
