"""The TAdaConvV2 pieces that TAdaConvNeXtV2 and TAdaFormer share: the depthwise TAdaConv as one op, the route
function with self-attention over frames, QuickGELU and whole-clip stochastic depth.

TAdaConv as one op. The authors' TAdaConv2dV2 builds a weight per clip and frame, alpha_bt * W, and runs a grouped
convolution over all of them. Both models use it depthwise and calibrated on its output channels, and then
conv(x, alpha * W) = alpha * conv(x, W): output channel c of a depthwise convolution reads input channel c alone,
y_c = sum_ij W_c[i, j] x_c[. + i, . + j], which is linear in W_c, so scaling the kernel W_c by the number alpha_c
scales y_c by alpha_c. With the bias calibrated by beta, conv(x, alpha * W) + beta * b = alpha * conv(x, W) + beta * b:
one depthwise convolution of all frames with the shared weight, then one multiply-add per element.

No pass that a matrix product can take: QuickGELU runs as SiLU with its factors inside the neighbouring products
(`scaled_quick_gelu_of_linear`), and without autograd (inference) results go into tensors just made where that
changes nothing but the allocation (`reusable`).

Activations are (batch * frames, ...) tensors, frames of one clip next to each other. This file imports only torch
and its sibling tada_ops: each model folder holds it as a link to this one file, so that `register_for_auto_class`
copies it beside the weights and a saved folder stands alone.
"""

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .tada_ops import spatial_mean, temporal_convolution

QUICK_GELU_SCALE = 1.702


def starting_at_zero(module: nn.Module) -> nn.Module:
    """Marks a layer whose weights `_init_weights` sets to zero: the authors switch the TAda paths off at the start."""
    module.zero_init_weight = True
    return module


def channels_last(frames: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, H, W, C), a view: contiguous for frames in channels-last memory."""
    return frames.permute(0, 2, 3, 1)


def channels_first(frames: torch.Tensor) -> torch.Tensor:
    """(N, H, W, C) -> (N, C, H, W), a view in channels-last memory."""
    return frames.permute(0, 3, 1, 2)


def reusable(fresh: torch.Tensor, *operands: torch.Tensor) -> torch.Tensor | None:
    """`fresh`, a tensor just computed here, as the `out=` of an elementwise op on it and `operands` where that
    changes nothing but the allocation (a large fresh tensor costs page faults on a CPU): without autograd, which
    might keep it for a backward, and when the result has its dtype (under autocast a bf16 product with fp32 factors
    gives fp32, which must not be rounded back to bf16). None otherwise: a new tensor; and when compiled, where the
    compiler plans the memory itself."""
    if torch.is_grad_enabled() or torch.compiler.is_compiling():
        return None
    result_dtype = functools.reduce(torch.promote_types, [operand.dtype for operand in operands], fresh.dtype)
    return fresh if result_dtype == fresh.dtype else None


class TadaDepthwiseConv2d(nn.Module):
    """TAdaConv2dV2 as the models use it: a depthwise k x k convolution whose weight and bias are calibrated per clip,
    frame and output channel. `forward(frames, weight_calibration, bias_calibration)` returns, for every frame,
    conv(x, alpha * W) + beta * b, computed as alpha * conv(x, W) + beta * b (see the module docstring), in
    channels-last layout (N, H, W, C). Without calibration it is the plain depthwise convolution."""

    def __init__(self, channels: int, kernel_size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels, 1, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(channels))
        self.padding = kernel_size // 2

    def forward(self, frames, weight_calibration=None, bias_calibration=None) -> torch.Tensor:
        # frames: (N, C, H, W); calibrations: (N, C) or None.
        if weight_calibration is None:
            return self.convolve(frames, self.bias)
        bias = self.calibrated_bias(weight_calibration, bias_calibration)
        convolved = self.convolve(frames)
        return torch.addcmul(bias[:, None, None, :], convolved, weight_calibration[:, None, None, :],
                             out=reusable(convolved, bias, weight_calibration))

    def calibrated_bias(self, weight_calibration: torch.Tensor, bias_calibration: torch.Tensor | None):
        """beta * b per frame and channel, (N, C) (b itself for every frame without bias calibration)."""
        bias = self.bias if bias_calibration is None else bias_calibration * self.bias
        return bias.expand_as(weight_calibration)

    def convolve(self, frames: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """The shared-weight depthwise convolution of every frame, (N, C, H, W) -> (N, H, W, C)."""
        return channels_last(F.conv2d(frames, self.weight, bias, padding=self.padding, groups=frames.shape[1]))

    def extra_repr(self) -> str:
        channels, _, kernel_size, _ = self.weight.shape
        return f"{channels}, kernel_size={kernel_size}, padding={self.padding}, groups={channels}"


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x), the authors' activation in the route functions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(QUICK_GELU_SCALE * x)


class TadaV2RouteFunction(nn.Module):
    """Computes a TAdaConv's calibrations from its input, per clip, frame and channel: per-frame channel means ->
    temporal convolution -> LayerNorm -> QuickGELU -> + self-attention over the frames (LayerNorm first) -> temporal
    convolution (one for the weight, one for the bias). With `calibration_starts_at_one` (TAdaConvNeXtV2) the last
    convolutions start at zero and 1 is added, so calibration starts at 1; without it (TAdaFormer, whose TAda blocks
    start switched off by their output projection instead) they start random and nothing is added.

    The authors' layers are 1x1 and k x 1 x 1 Conv3d over (B, C, T, 1, 1); here they are matrix products over
    (B, T, C) sequences with the same weights. Two quirks of theirs are kept, since the checkpoints learned them:
    attention scores are scaled by (route channels)^-0.5, not (head size)^-0.5, and a head's channels in q, k and v
    are every `num_heads`-th one (head index fastest), while its output channels are contiguous."""

    def __init__(self, channels: int, reduction: int, kernel_sizes, head_dim: int, bias_calibration: bool,
                 layer_norm_eps: float, calibration_starts_at_one: bool):
        super().__init__()
        hidden = channels // reduction
        reduce_kernel, expand_kernel = kernel_sizes
        self.head_dim = head_dim
        self.num_heads = hidden // head_dim
        self.scale = hidden**-0.5
        self.offset = 1.0 if calibration_starts_at_one else 0.0
        self.reduce = nn.Conv1d(channels, hidden, reduce_kernel, padding=reduce_kernel // 2)
        self.normalization = nn.LayerNorm(hidden, eps=layer_norm_eps)
        self.activation = QuickGELU()
        self.attention_normalization = nn.LayerNorm(hidden, eps=layer_norm_eps)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.attention_output = nn.Linear(hidden, hidden)
        mark = starting_at_zero if calibration_starts_at_one else (lambda module: module)
        self.expand = mark(nn.Conv1d(hidden, channels, expand_kernel, padding=expand_kernel // 2, bias=False))
        self.expand_bias = mark(
            nn.Conv1d(hidden, channels, expand_kernel, padding=expand_kernel // 2, bias=False)
        ) if bias_calibration else None

    def forward(self, frames: torch.Tensor, num_frames: int):
        """(N, C, H, W) frames -> (weight calibration, bias calibration or None), each (N, C)."""
        channels = frames.shape[1]
        hidden = temporal_convolution(spatial_mean(frames).view(-1, num_frames, channels), self.reduce)
        hidden = self.activation(self.normalization(hidden))
        hidden = hidden + self.attention(self.attention_normalization(hidden))
        weight_calibration = (temporal_convolution(hidden, self.expand) + self.offset).view(-1, channels)
        if self.expand_bias is None:
            return weight_calibration, None
        return weight_calibration, (temporal_convolution(hidden, self.expand_bias) + self.offset).view(-1, channels)

    def attention(self, sequence: torch.Tensor) -> torch.Tensor:
        batch, num_frames, hidden = sequence.shape
        qkv = self.qkv(sequence).view(batch, num_frames, 3, self.head_dim, self.num_heads).permute(2, 0, 4, 1, 3)
        attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], scale=self.scale)  # (B, heads, T, d)
        return self.attention_output(attended.transpose(1, 2).reshape(batch, num_frames, hidden))


def drop_path_per_clip(branch: torch.Tensor, num_frames: int, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth: zero a residual branch for whole clips (all their frames) with probability `rate`, and
    scale the kept ones by 1 / (1 - rate). `branch` is (batch * frames, ...)."""
    if rate == 0.0 or not training:
        return branch
    keep = 1.0 - rate
    clips = branch.shape[0] // num_frames
    mask = branch.new_empty(clips).bernoulli_(keep).div_(keep)
    return (branch.view(clips, num_frames, -1) * mask[:, None, None]).view(branch.shape)


def is_plain_linear(layer: nn.Module) -> bool:
    """Whether `layer` is exactly nn.Linear, whose weights the folded products below may read directly. A wrapped
    layer (a LoRA adapter, a quantised layer: anything else) is called instead, or its addition would be silently
    left out."""
    return type(layer) is nn.Linear


def scaled_linear(inputs: torch.Tensor, weight: torch.Tensor, alpha: float, bias: torch.Tensor | None = None):
    """alpha * (inputs @ weight^T) + bias over the last axis, the factor applied inside the matrix product: no pass
    over the output and no scaled copy of the weight (C x 4C numbers, which at inference cost as much as the
    activations they would spare)."""
    flat = inputs.reshape(-1, inputs.shape[-1])
    if bias is None:
        product = torch.mm(flat, weight.t())
        product = product if alpha == 1 else product * alpha
    else:
        product = torch.addmm(bias, flat, weight.t(), alpha=alpha)
    return product.view(*inputs.shape[:-1], weight.shape[0])


def scaled_quick_gelu_of_linear(hidden: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
    """1.702 * QuickGELU(layer(hidden)), computed as SiLU(1.702 * layer(hidden)) with the 1.702 inside the matrix
    product: one pass over the activations where x * sigmoid(1.702 x) takes three, and a backward that keeps one
    tensor instead of two. The layer that reads it divides by 1.702 (`scaled_linear`'s alpha). `layer` must be a
    plain nn.Linear (`is_plain_linear`)."""
    bias = None if layer.bias is None else layer.bias * QUICK_GELU_SCALE
    # Without autograd, in place: the product is ours, and a fresh 4C-wide tensor is the largest allocation.
    return F.silu(scaled_linear(hidden, layer.weight, QUICK_GELU_SCALE, bias), inplace=not torch.is_grad_enabled())


def quick_gelu_mlp(hidden: torch.Tensor, expand: nn.Linear, project: nn.Linear) -> torch.Tensor:
    """project(QuickGELU(expand(hidden))), through `scaled_quick_gelu_of_linear` where both layers are plain."""
    if not (is_plain_linear(expand) and is_plain_linear(project)):
        expanded = expand(hidden)
        return project(expanded * torch.sigmoid(QUICK_GELU_SCALE * expanded))
    activated = scaled_quick_gelu_of_linear(hidden, expand)
    return scaled_linear(activated, project.weight, 1 / QUICK_GELU_SCALE, project.bias)
