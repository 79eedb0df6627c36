"""TAdaFormer's TAda block, which the authors add to every CLIP layer: down projection, depthwise TAdaConv with its
route function, temporal aggregation with BatchNorms, QuickGELU, up projection; in eval mode, with the BatchNorms'
statistics frozen, the aggregation folded into three multiply-adds.

This file imports only torch and its sibling files, so that a saved folder carries it (see modeling_tadaformer).
"""

import torch
import torch.nn.functional as F
from torch import nn

from .configuration_tadaformer import TadaFormerConfig
from .tada_ops import temporal_average_pool
from .tada_v2_ops import (
    QUICK_GELU_SCALE,
    QuickGELU,
    TadaDepthwiseConv2d,
    TadaV2RouteFunction,
    channels_first,
    channels_last,
    is_plain_linear,
    scaled_linear,
    starting_at_zero,
)

TADA_KERNEL_SIZE = 3
ENHANCED_DOWN_KERNEL_SIZE = 3
# The authors' route functions use LayerNorms of their own eps, whatever the transformer's.
ROUTE_LAYER_NORM_EPS = 1e-6


def temporal_convolution_per_token(tokens: torch.Tensor, num_frames: int, convolution: nn.Conv1d) -> torch.Tensor:
    """`convolution` (odd kernel k, zero-padded, stride 1) along time for every token position: (B*T, P, C_in) ->
    (B*T, P, C_out), the authors' k x 1 x 1 Conv3d over (B, C, T, H, W). Each tap is applied to every frame in one
    matrix product (k x C_out numbers per token), then the taps' results are summed with their time shifts."""
    kernel_size, out_channels = convolution.kernel_size[0], convolution.out_channels
    taps = F.linear(tokens, convolution.weight.permute(2, 0, 1).reshape(kernel_size * out_channels, -1))
    taps = taps.view(-1, num_frames, tokens.shape[1], kernel_size, out_channels)  # (B, T, P, k, C_out)
    centre = kernel_size // 2
    output = taps[:, :, :, centre].clone()
    if convolution.bias is not None:
        output += convolution.bias
    for tap in range(kernel_size):
        shift = tap - centre  # output frame t reads input frame t + shift through this tap
        if shift == 0 or abs(shift) >= num_frames:
            continue
        if shift > 0:
            output[:, :-shift] += taps[:, shift:, :, tap]
        else:
            output[:, -shift:] += taps[:, :shift, :, tap]
    return output.view(-1, tokens.shape[1], out_channels)


class TadaFormerTadaBlock(nn.Module):
    """The TAda block the authors add to every layer, on the patch tokens: down projection (a Linear, or with
    `temporal_enhance` a temporal convolution per token) -> depthwise 3x3 TAdaConv calibrated by its route function
    -> temporal aggregation `BN(y) + BN'(avgpool_time(y))` -> QuickGELU -> Linear up. The up projection and BN' start
    at zero: a fresh block adds nothing."""

    def __init__(self, config: TadaFormerConfig):
        super().__init__()
        channels = config.hidden_size // config.tada_reduction
        if config.temporal_enhance:
            self.down = nn.Conv1d(config.hidden_size, channels, ENHANCED_DOWN_KERNEL_SIZE,
                                  padding=ENHANCED_DOWN_KERNEL_SIZE // 2)
        else:
            self.down = nn.Linear(config.hidden_size, channels)
        self.conv = TadaDepthwiseConv2d(channels, TADA_KERNEL_SIZE)
        self.route = TadaV2RouteFunction(channels, config.route_reduction, config.route_kernel_sizes,
                                       config.route_head_dim, config.bias_calibration, ROUTE_LAYER_NORM_EPS,
                                       calibration_starts_at_one=False)
        self.normalization = nn.BatchNorm2d(channels, eps=config.batch_norm_eps)
        self.temporal_pool_normalization = starting_at_zero(nn.BatchNorm2d(channels, eps=config.batch_norm_eps))
        self.temporal_pool_kernel_size = config.temporal_pool_kernel_size
        self.activation = QuickGELU()
        self.up = starting_at_zero(nn.Linear(channels, config.hidden_size))

    def forward(self, patches: torch.Tensor, num_frames: int, grid: tuple[int, int]) -> torch.Tensor:
        """(B*T, h*w, C) patch tokens -> (B*T, h*w, C), what the block adds to them."""
        if isinstance(self.down, nn.Conv1d):
            reduced = temporal_convolution_per_token(patches, num_frames, self.down)
        else:
            reduced = self.down(patches)
        frames = channels_first(reduced.view(reduced.shape[0], *grid, reduced.shape[-1]))  # channels-last memory
        calibrations = self.route(frames, num_frames)
        if _statistics_frozen(self.normalization) and _statistics_frozen(self.temporal_pool_normalization):
            activated = self._scaled_activation_with_frozen_statistics(frames, num_frames, *calibrations)
            activated = activated.reshape(patches.shape[0], -1, frames.shape[1])
            if is_plain_linear(self.up):
                return scaled_linear(activated, self.up.weight, 1 / QUICK_GELU_SCALE, self.up.bias)
            return self.up(activated / QUICK_GELU_SCALE)
        convolved = self.conv(frames, *calibrations)  # (N, h, w, C')
        pooled = temporal_average_pool(convolved, num_frames, self.temporal_pool_kernel_size)
        aggregated = (self.normalization(channels_first(convolved))
                      + self.temporal_pool_normalization(channels_first(pooled)))
        return self.up(self.activation(channels_last(aggregated)).reshape(patches.shape[0], -1, frames.shape[1]))

    def _scaled_activation_with_frozen_statistics(self, frames, num_frames, weight_calibration, bias_calibration):
        """1.702 * QuickGELU(BN(y) + BN'(avgpool_time(y))) for the calibrated convolution y = alpha * z + beta * b,
        z = conv(frames, W), with both BatchNorms using their running statistics (eval mode): three multiply-adds over
        the frames and one SiLU, where the general path takes eight passes and QuickGELU three more.

        Each frozen BatchNorm is a per-channel a * x + c and the pool a fixed sum over the k nearest frames, so the
        aggregation is a temporal convolution of z with per-clip, frame and channel taps:
        frame t = sum over s of w_s * alpha_{t+s} * z_{t+s} + e_t, with w_0 = a + a'/k and w_s = a'/k for the
        neighbours, and e_t = c + c' + a * beta_t b + a' * avgpool_time(beta b)_t. The 1.702 goes into the taps."""
        scale, shift = _frozen_affine(self.normalization)
        pool_scale, pool_shift = _frozen_affine(self.temporal_pool_normalization)
        kernel_size = self.temporal_pool_kernel_size
        calibrated_bias = self.conv.calibrated_bias(weight_calibration, bias_calibration)  # (N, C')
        offsets = torch.addcmul(shift + pool_shift, scale, calibrated_bias)
        offsets = offsets.addcmul_(pool_scale, temporal_average_pool(calibrated_bias, num_frames, kernel_size))
        convolved = self.conv.convolve(frames)  # (N, h, w, C'), no bias
        clips = convolved.view(-1, num_frames, convolved.shape[1] * convolved.shape[2], convolved.shape[3])
        as_clips = lambda per_frame: per_frame.view(-1, num_frames, 1, per_frame.shape[-1])  # noqa: E731
        alpha = as_clips(weight_calibration)
        neighbour_taps = alpha * (QUICK_GELU_SCALE / kernel_size * pool_scale)
        aggregated = torch.addcmul(as_clips(offsets * QUICK_GELU_SCALE), clips,
                                   alpha * (QUICK_GELU_SCALE * (scale + pool_scale / kernel_size)))
        for distance in range(1, min(kernel_size // 2, num_frames - 1) + 1):  # frame t reads t + distance, t - distance
            aggregated[:, :-distance].addcmul_(clips[:, distance:], neighbour_taps[:, distance:])
            aggregated[:, distance:].addcmul_(clips[:, :-distance], neighbour_taps[:, :-distance])
        return F.silu(aggregated, inplace=not torch.is_grad_enabled()).view(convolved.shape)


def _statistics_frozen(norm: nn.BatchNorm2d) -> bool:
    """Whether `norm` normalises with its running statistics (eval mode), i.e. is a fixed per-channel affine map."""
    return not norm.training and norm.running_mean is not None and norm.running_var is not None


def _frozen_affine(norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, c) with norm(x) = a * x + c per channel, for a BatchNorm with frozen statistics."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    return scale, shift if norm.bias is None else shift + norm.bias
