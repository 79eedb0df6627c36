"""The original TAda2D ResNet, written the way the TAdaConv repository computes it: the tests' oracle for the
original's formulation, and the baseline of `benchmarks/model_speed.py`.

Our model (hf_video) runs on frames and evaluates TAdaConv2d as one ordinary convolution of the calibrated input. The
original keeps clips as (B, C, T, H, W), uses Conv3d / BatchNorm3d / AvgPool3d throughout, and evaluates TAdaConv2d by
building one calibrated weight per sample and per frame (B*T copies of the weight) and running a grouped convolution
with B*T groups. This file reproduces that formulation, written from the paper and the notes on the original code (facts
only, no code copied). Its state-dict keys are the original's, so original checkpoints load into it unchanged; a test
checks it against the golden outputs of the original implementation.

Inputs are (B, T, C, H, W) like our model's, permuted to the original's (B, C, T, H, W) inside `forward`.
"""

import torch
import torch.nn.functional as F
from torch import nn

STAGE_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def _bn(channels, eps, momentum):
    return nn.BatchNorm3d(channels, eps=eps, momentum=momentum)


class OriginalTadaConv2d(nn.Module):
    """TAdaConv2d as the original evaluates it: weight (1, 1, C_out, C_in, k, k) times a per-sample, per-frame
    calibration of the input channels, one grouped convolution with B*T groups."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(1, 1, out_channels, in_channels, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        self.stride = stride
        self.padding = kernel_size // 2

    def forward(self, clips, calibration):
        # clips: (B, C_in, T, H, W); calibration: (B, C_in, T, 1, 1)
        batch, in_channels, frames, height, width = clips.shape
        out_channels, kernel = self.weight.shape[2], self.weight.shape[-1]
        stacked = clips.permute(0, 2, 1, 3, 4).reshape(1, batch * frames * in_channels, height, width)
        # (B, T, 1, C_in, 1, 1) * (1, 1, C_out, C_in, k, k) -> B*T calibrated weights
        weights = calibration.permute(0, 2, 1, 3, 4).unsqueeze(2) * self.weight
        weights = weights.reshape(batch * frames * out_channels, in_channels, kernel, kernel)
        output = F.conv2d(stacked, weights, stride=self.stride, padding=self.padding, groups=batch * frames)
        return output.view(batch, frames, out_channels, *output.shape[-2:]).permute(0, 2, 1, 3, 4)


class OriginalRouteFunction(nn.Module):
    """g: global (T, H, W) average -> 1x1x1 conv; a: (H, W) average + g -> (k,1,1) conv to C/r; BN; ReLU;
    b: (k,1,1) conv back to C; + 1."""

    def __init__(self, channels, reduction=4, kernel_sizes=(3, 3)):
        super().__init__()
        hidden = channels // reduction
        self.g = nn.Conv3d(channels, channels, 1)
        self.a = nn.Conv3d(channels, hidden, (kernel_sizes[0], 1, 1), padding=(kernel_sizes[0] // 2, 0, 0))
        self.bn = nn.BatchNorm3d(hidden, eps=1e-5, momentum=0.1)
        self.relu = nn.ReLU(inplace=True)
        self.b = nn.Conv3d(hidden, channels, (kernel_sizes[1], 1, 1), padding=(kernel_sizes[1] // 2, 0, 0),
                           bias=False)

    def forward(self, clips):
        per_clip = F.adaptive_avg_pool3d(clips, 1)
        per_frame = F.adaptive_avg_pool3d(clips, (None, 1, 1))
        hidden = self.relu(self.bn(self.a(per_frame + self.g(per_clip))))
        return self.b(hidden) + 1


class OriginalBottleneckBranch(nn.Module):
    def __init__(self, in_channels, width, out_channels, stride, route_reduction, route_kernel_sizes,
                 pool_kernel, eps, momentum):
        super().__init__()
        self.a = nn.Conv3d(in_channels, width, 1, bias=False)
        self.a_bn = _bn(width, eps, momentum)
        self.a_relu = nn.ReLU(inplace=True)
        self.b = OriginalTadaConv2d(width, width, 3, stride)
        self.b_rf = OriginalRouteFunction(width, route_reduction, route_kernel_sizes)
        self.b_bn = _bn(width, eps, momentum)
        self.b_avgpool = nn.AvgPool3d((pool_kernel, 1, 1), stride=1, padding=(pool_kernel // 2, 0, 0))
        self.b_avgpool_bn = _bn(width, eps, momentum)
        self.b_relu = nn.ReLU(inplace=True)
        self.c = nn.Conv3d(width, out_channels, 1, bias=False)
        self.c_bn = _bn(out_channels, eps, momentum)

    def forward(self, clips):
        hidden = self.a_relu(self.a_bn(self.a(clips)))
        hidden = self.b(hidden, self.b_rf(hidden))
        hidden = self.b_relu(self.b_bn(hidden) + self.b_avgpool_bn(self.b_avgpool(hidden)))
        return self.c_bn(self.c(hidden))


class OriginalResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride, eps, momentum, **branch_options):
        super().__init__()
        if stride != 1 or in_channels != out_channels:
            self.short_cut = nn.Conv3d(in_channels, out_channels, 1, stride=(1, stride, stride), bias=False)
            self.short_cut_bn = _bn(out_channels, eps, momentum)
        else:
            self.short_cut = None
        self.conv_branch = OriginalBottleneckBranch(in_channels, out_channels // 4, out_channels, stride,
                                                    eps=eps, momentum=momentum, **branch_options)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, clips):
        shortcut = clips if self.short_cut is None else self.short_cut_bn(self.short_cut(clips))
        return self.relu(shortcut + self.conv_branch(clips))


class OriginalStem(nn.Module):
    def __init__(self, width, kernel_size, eps, momentum):
        super().__init__()
        self.a = nn.Conv3d(3, width, (1, kernel_size, kernel_size), stride=(1, 2, 2),
                           padding=(0, kernel_size // 2, kernel_size // 2), bias=False)
        self.a_bn = _bn(width, eps, momentum)
        self.a_relu = nn.ReLU(inplace=True)

    def forward(self, clips):
        return self.a_relu(self.a_bn(self.a(clips)))


class OriginalBackbone(nn.Module):
    def __init__(self, depth, num_filters, stem_kernel_size, eps, momentum, **branch_options):
        super().__init__()
        self.conv1 = OriginalStem(num_filters[0], stem_kernel_size, eps, momentum)
        for stage, blocks in enumerate(STAGE_DEPTHS[depth]):
            stage_module = nn.Module()
            for block in range(blocks):
                in_channels = num_filters[stage] if block == 0 else num_filters[stage + 1]
                stage_module.add_module(f"res_{block + 1}", OriginalResidualBlock(
                    in_channels, num_filters[stage + 1], 2 if block == 0 else 1, eps, momentum, **branch_options))
            self.add_module(f"conv{stage + 2}", stage_module)

    def forward(self, clips):
        clips = self.conv1(clips)
        for stage in range(2, 6):
            for block in getattr(self, f"conv{stage}").children():
                clips = block(clips)
        return clips


class OriginalHead(nn.Module):
    def __init__(self, in_channels, num_classes, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_channels, num_classes)

    def forward(self, features):
        return self.out(self.dropout(features.mean(dim=(2, 3, 4))))


class OriginalTada2d(nn.Module):
    """The original TAda2D video classifier (backbone + head), returning logits (the original applies softmax on
    top in eval mode). Defaults: TAda2D ResNet-50."""

    def __init__(self, depth=50, num_filters=(64, 256, 512, 1024, 2048), num_classes=400, stem_kernel_size=7,
                 route_reduction=4, route_kernel_sizes=(3, 3), pool_kernel=3, eps=1e-5, momentum=0.1, dropout=0.5):
        super().__init__()
        self.backbone = OriginalBackbone(depth, num_filters, stem_kernel_size, eps, momentum,
                                         route_reduction=route_reduction, route_kernel_sizes=route_kernel_sizes,
                                         pool_kernel=pool_kernel)
        self.head = OriginalHead(num_filters[-1], num_classes, dropout)

    def forward(self, pixel_values):
        # (B, T, C, H, W), as our model takes it -> the original's (B, C, T, H, W)
        return self.head(self.backbone(pixel_values.permute(0, 2, 1, 3, 4)))
