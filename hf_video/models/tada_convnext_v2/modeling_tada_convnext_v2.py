"""TAdaConvNeXtV2 (TAdaConvV2, "Temporally-Adaptive Models for Efficient Video Understanding") as a transformers model.

After the Conv3d stem, the network mixes frames only in the route functions and the temporal aggregation, so it runs
on frames: activations are (batch * frames, channels, height, width) tensors in channels-last memory, every spatial
convolution an ordinary 2D one, every LayerNorm and Linear a plain one over the last axis of a channels-last view.

TAdaConv as one op. The authors' TAdaConv2dV2 builds a weight per clip and frame, alpha_bt * W, and runs a grouped
convolution over all of them. In this model it is depthwise and calibrated on its output channels, and then
conv(x, alpha * W) = alpha * conv(x, W): output channel c of a depthwise convolution reads input channel c alone,
y_c = sum_ij W_c[i, j] x_c[. + i, . + j], which is linear in W_c, so scaling the kernel W_c by the number alpha_c
scales y_c by alpha_c. With the bias calibrated by beta, conv(x, alpha * W) + beta * b = alpha * conv(x, W) + beta * b:
one depthwise convolution of all frames with the shared weight, then one multiply-add per element.

This file imports only torch, transformers and its sibling files (configuration, tada_ops), so that
`register_for_auto_class` can ship them beside saved weights for `trust_remote_code=True` users.
"""

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import (
    BaseModelOutputWithPoolingAndNoAttention,
    ImageClassifierOutputWithNoAttention,
)
from transformers.utils.generic import can_return_tuple

from .configuration_tada_convnext_v2 import TadaConvNextV2Config
from .tada_ops import average_views, flatten_views, spatial_mean, temporal_average_pool, temporal_convolution

STEM_PATCH_SIZE = 4
DOWNSAMPLING_FACTOR = 2
DEPTHWISE_KERNEL_SIZE = 7
MLP_RATIO = 4
QUICK_GELU_SCALE = 1.702


def _starting_at_zero(module: nn.Module) -> nn.Module:
    """Marks a layer whose weights `_init_weights` sets to zero: the authors switch the TAda paths off at the start."""
    module.zero_init_weight = True
    return module


def _channels_last(frames: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, H, W, C), a view: contiguous for frames in channels-last memory."""
    return frames.permute(0, 2, 3, 1)


def _channels_first(frames: torch.Tensor) -> torch.Tensor:
    """(N, H, W, C) -> (N, C, H, W), a view in channels-last memory."""
    return frames.permute(0, 3, 1, 2)


def _layer_norm_channels(frames: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
    """LayerNorm over the channels of (N, C, H, W) frames (the authors' channels-first LayerNorm)."""
    return _channels_first(norm(_channels_last(frames)))


class TadaDepthwiseConv2d(nn.Module):
    """TAdaConv2dV2 as the blocks use it: a depthwise k x k convolution whose weight and bias are calibrated per clip,
    frame and output channel. `forward(frames, weight_calibration, bias_calibration)` returns, for every frame,
    conv(x, alpha * W) + beta * b, computed as alpha * conv(x, W) + beta * b (see the module docstring), in
    channels-last layout (N, H, W, C). Without calibration it is the plain depthwise convolution."""

    def __init__(self, channels: int, kernel_size: int = DEPTHWISE_KERNEL_SIZE):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels, 1, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(channels))
        self.padding = kernel_size // 2

    def forward(self, frames, weight_calibration=None, bias_calibration=None) -> torch.Tensor:
        # frames: (N, C, H, W); calibrations: (N, C) or None.
        channels = frames.shape[1]
        bias = None if weight_calibration is not None else self.bias
        output = _channels_last(F.conv2d(frames, self.weight, bias, padding=self.padding, groups=channels))
        if weight_calibration is None:
            return output
        bias = self.bias if bias_calibration is None else bias_calibration * self.bias
        bias = bias.expand_as(weight_calibration)
        return torch.addcmul(bias[:, None, None, :], output, weight_calibration[:, None, None, :])

    def extra_repr(self) -> str:
        channels, _, kernel_size, _ = self.weight.shape
        return f"{channels}, kernel_size={kernel_size}, padding={self.padding}, groups={channels}"


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x), the authors' activation in the route functions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(QUICK_GELU_SCALE * x)


class TadaConvNextV2RouteFunction(nn.Module):
    """Computes a block's calibrations from its input, per clip, frame and channel: per-frame channel means ->
    temporal convolution -> LayerNorm -> QuickGELU -> + self-attention over the frames (LayerNorm first) -> temporal
    convolution (one for the weight, one for the bias) -> + 1. The last convolutions start at zero: calibration 1.

    The authors' layers are 1x1 and k x 1 x 1 Conv3d over (B, C, T, 1, 1); here they are matrix products over
    (B, T, C) sequences with the same weights. Two quirks of theirs are kept, since the checkpoints learned them:
    attention scores are scaled by (route channels)^-0.5, not (head size)^-0.5, and a head's channels in q, k and v
    are every `num_heads`-th one (head index fastest), while its output channels are contiguous."""

    def __init__(self, config: TadaConvNextV2Config, channels: int):
        super().__init__()
        hidden = channels // config.route_reduction
        reduce_kernel, expand_kernel = config.route_kernel_sizes
        self.head_dim = config.route_head_dim
        self.num_heads = hidden // config.route_head_dim
        self.scale = hidden**-0.5
        self.reduce = nn.Conv1d(channels, hidden, reduce_kernel, padding=reduce_kernel // 2)
        self.normalization = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.activation = QuickGELU()
        self.attention_normalization = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.attention_output = nn.Linear(hidden, hidden)
        self.expand = _starting_at_zero(
            nn.Conv1d(hidden, channels, expand_kernel, padding=expand_kernel // 2, bias=False))
        self.expand_bias = _starting_at_zero(
            nn.Conv1d(hidden, channels, expand_kernel, padding=expand_kernel // 2, bias=False)
        ) if config.bias_calibration else None

    def forward(self, frames: torch.Tensor, num_frames: int):
        """(N, C, H, W) frames -> (weight calibration, bias calibration or None), each (N, C)."""
        channels = frames.shape[1]
        hidden = temporal_convolution(spatial_mean(frames).view(-1, num_frames, channels), self.reduce)
        hidden = self.activation(self.normalization(hidden))
        hidden = hidden + self.attention(self.attention_normalization(hidden))
        weight_calibration = (temporal_convolution(hidden, self.expand) + 1).view(-1, channels)
        if self.expand_bias is None:
            return weight_calibration, None
        return weight_calibration, (temporal_convolution(hidden, self.expand_bias) + 1).view(-1, channels)

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


class TadaConvNextV2Layer(GradientCheckpointingLayer):
    """A TAdaConvNeXtV2 block, the unit of activation checkpointing: TAda depthwise 7x7 convolution -> temporal
    aggregation `LN(y) + LN'(avgpool_time(y))` -> Linear (4x) -> activation -> Linear -> layer scale -> stochastic
    depth, added to the input. With `temporal_adaptive=False`: a ConvNeXt block, `LN(y)` alone."""

    def __init__(self, config: TadaConvNextV2Config, channels: int, drop_path_rate: float):
        super().__init__()
        self.dwconv = TadaDepthwiseConv2d(channels)
        self.layernorm = nn.LayerNorm(channels, eps=config.layer_norm_eps)
        if config.temporal_adaptive:
            self.route = TadaConvNextV2RouteFunction(config, channels)
            self.temporal_pool_layernorm = _starting_at_zero(nn.LayerNorm(channels, eps=config.layer_norm_eps))
        else:
            self.route = self.temporal_pool_layernorm = None
        self.temporal_pool_kernel_size = config.temporal_pool_kernel_size
        self.pwconv1 = nn.Linear(channels, MLP_RATIO * channels)
        self.activation = ACT2FN[config.hidden_act]
        self.quick_gelu = config.hidden_act == "quick_gelu"
        self.pwconv2 = nn.Linear(MLP_RATIO * channels, channels)
        self.layer_scale_parameter = (
            nn.Parameter(torch.empty(channels)) if config.layer_scale_init_value > 0 else None)
        self.drop_path_rate = drop_path_rate

    def forward(self, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        if self.route is None:
            hidden = self.layernorm(self.dwconv(frames))
        else:
            convolved = self.dwconv(frames, *self.route(frames, num_frames))
            pooled = temporal_average_pool(convolved, num_frames, self.temporal_pool_kernel_size)
            hidden = self.layernorm(convolved) + self.temporal_pool_layernorm(pooled)
        hidden = self.inverted_bottleneck(hidden)
        if self.layer_scale_parameter is not None:
            hidden = hidden * self.layer_scale_parameter
        hidden = drop_path_per_clip(hidden, num_frames, self.drop_path_rate, self.training)
        return frames + _channels_first(hidden)

    def inverted_bottleneck(self, hidden: torch.Tensor) -> torch.Tensor:
        """pwconv2(activation(pwconv1(hidden))). QuickGELU, x * sigmoid(1.702 x), is SiLU(1.702 x) / 1.702: the
        factors go into the two layers' weights (C x 4C numbers, not the N x H x W x 4C activations), leaving one
        fused SiLU, whose backward keeps one tensor, where x * sigmoid(1.702 x) takes three passes forward and keeps
        two."""
        if not self.quick_gelu:
            return self.pwconv2(self.activation(self.pwconv1(hidden)))
        expanded = F.linear(hidden, self.pwconv1.weight * QUICK_GELU_SCALE, self.pwconv1.bias * QUICK_GELU_SCALE)
        return F.linear(F.silu(expanded), self.pwconv2.weight / QUICK_GELU_SCALE, self.pwconv2.bias)


class TadaConvNextV2Stage(nn.Module):
    """Downsampling (LayerNorm, 2x2 stride-2 convolution; not in the first stage, whose input is the stem's) and
    blocks."""

    def __init__(self, config: TadaConvNextV2Config, in_channels: int, out_channels: int, drop_path_rates):
        super().__init__()
        if in_channels is None:
            self.downsampling_layer = None
        else:
            self.downsampling_layer = nn.Sequential(
                nn.LayerNorm(in_channels, eps=config.layer_norm_eps),
                nn.Conv2d(in_channels, out_channels, DOWNSAMPLING_FACTOR, stride=DOWNSAMPLING_FACTOR),
            )
        self.layers = nn.ModuleList(TadaConvNextV2Layer(config, out_channels, rate) for rate in drop_path_rates)

    def forward(self, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        if self.downsampling_layer is not None:
            norm, convolution = self.downsampling_layer
            frames = convolution(_layer_norm_channels(frames, norm))
        for layer in self.layers:
            frames = layer(frames, num_frames)
        return frames


class TadaConvNextV2Embeddings(nn.Module):
    """The stem: a Conv3d (kernel t x 4 x 4, stride s x 4 x 4, zero-padded in time), then a LayerNorm over channels.
    Returns frames (batch * frames_after_stem, C, H/4, W/4) in channels-last memory, and the frame count."""

    def __init__(self, config: TadaConvNextV2Config):
        super().__init__()
        self.num_channels = config.num_channels
        kernel = config.stem_temporal_kernel_size
        self.patch_embeddings = nn.Conv3d(
            config.num_channels, config.hidden_sizes[0], (kernel, STEM_PATCH_SIZE, STEM_PATCH_SIZE),
            stride=(config.stem_temporal_stride, STEM_PATCH_SIZE, STEM_PATCH_SIZE), padding=((kernel - 1) // 2, 0, 0))
        self.layernorm = nn.LayerNorm(config.hidden_sizes[0], eps=config.layer_norm_eps)
        self.min_frame_size = STEM_PATCH_SIZE * DOWNSAMPLING_FACTOR ** (len(config.hidden_sizes) - 1)

    def forward(self, pixel_values: torch.Tensor):
        self._check(pixel_values)
        video = pixel_values.to(self.patch_embeddings.weight.dtype).transpose(1, 2)  # (B, C, T, H, W)
        embedded = self.patch_embeddings(video)
        batch, channels, num_frames, height, width = embedded.shape
        frames = self.layernorm(embedded.permute(0, 2, 3, 4, 1).reshape(batch * num_frames, height, width, channels))
        return _channels_first(frames), num_frames

    def _check(self, pixel_values: torch.Tensor) -> None:
        shape = tuple(pixel_values.shape)
        if pixel_values.dim() != 5 or shape[2] != self.num_channels:
            raise ValueError(
                f"pixel_values must have shape (batch, num_frames, {self.num_channels}, height, width); got {shape}. "
                "A (batch, channels, frames, height, width) tensor needs `.permute(0, 2, 1, 3, 4)` first.")
        if not pixel_values.is_floating_point():
            raise ValueError(
                f"pixel_values must be floating point, normalised as in training; got {pixel_values.dtype} {shape}. "
                "Convert uint8 frames with the model's video processor (AutoVideoProcessor), or scale them to "
                "[0, 1] and normalise them yourself.")
        batch, num_frames, _, height, width = shape
        if batch == 0 or num_frames == 0:
            raise ValueError(f"pixel_values of shape {shape} holds no {'clip' if batch == 0 else 'frame'}; a batch "
                             "needs at least one clip of at least one frame.")
        if min(height, width) < self.min_frame_size:
            raise ValueError(f"pixel_values of shape {shape}: frames of {height}x{width} are too small for this "
                             f"network, which divides them by {self.min_frame_size}; give frames of at least "
                             f"{self.min_frame_size}x{self.min_frame_size}.")


def _as_video(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(B*T, C, H, W) -> (B, C, T, H, W), the layout of the authors' backbone features (a view)."""
    return frames.unflatten(0, (-1, num_frames)).transpose(1, 2)


class TadaConvNextV2PreTrainedModel(PreTrainedModel):
    config_class = TadaConvNextV2Config
    base_model_prefix = "tada_convnext_v2"
    main_input_name = "pixel_values"
    input_modalities = "video"
    supports_gradient_checkpointing = True
    # A block stays on one device when a model is split across devices (device_map="auto").
    _no_split_modules = ["TadaConvNextV2Layer"]
    # The losses here average over the local batch; taking `num_items_in_batch` would make the Trainer multiply them
    # by the number of processes.
    accepts_loss_kwargs = False

    @torch.no_grad()
    def _init_weights(self, module):
        """The authors' initialisation: truncated normal (std `initializer_range`) convolution and linear weights,
        zero biases, layer scales at `layer_scale_init_value`; the route functions' last convolutions and the pooled
        term's LayerNorm start at zero, so that a fresh model computes a per-frame ConvNeXt."""
        starts_at_zero = getattr(module, "zero_init_weight", False)
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, TadaDepthwiseConv2d)):
            if starts_at_zero:
                init.zeros_(module.weight)
            else:
                init.trunc_normal_(module.weight, std=self.config.initializer_range)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            init.constant_(module.weight, 0.0 if starts_at_zero else 1.0)
            init.zeros_(module.bias)
        elif isinstance(module, TadaConvNextV2Layer) and module.layer_scale_parameter is not None:
            init.constant_(module.layer_scale_parameter, self.config.layer_scale_init_value)


class TadaConvNextV2Model(TadaConvNextV2PreTrainedModel):
    """The TAdaConvNeXtV2 backbone. `last_hidden_state` and `hidden_states` (the stem's output, then every stage's)
    have the authors' layout (batch, channels, frames, height, width), frames as the stem leaves them;
    `pooler_output` is the final LayerNorm of the average over all three, the authors' backbone output."""

    def __init__(self, config: TadaConvNextV2Config):
        super().__init__(config)
        self.embeddings = TadaConvNextV2Embeddings(config)
        # Rising linearly over the blocks; plain floats (a tensor here would not build on the meta device).
        blocks = sum(config.depths)
        rates = [config.drop_path_rate * index / max(blocks - 1, 1) for index in range(blocks)]
        starts = [sum(config.depths[:index]) for index in range(len(config.depths))]
        in_channels = [None] + list(config.hidden_sizes[:-1])
        self.encoder = nn.Module()
        self.encoder.stages = nn.ModuleList(
            TadaConvNextV2Stage(config, in_channels[index], width, rates[starts[index]:starts[index] + depth])
            for index, (depth, width) in enumerate(zip(config.depths, config.hidden_sizes))
        )
        self.layernorm = nn.LayerNorm(config.hidden_sizes[-1], eps=config.layer_norm_eps)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPoolingAndNoAttention:
        r"""
        pixel_values (`torch.Tensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
            Normalised clips, of any length (the stem's temporal stride takes frames away) and any size of at least
            32 x 32.
        kwargs: arguments that generic code passes to every model (e.g. `output_attentions`); a convolutional model
            has no use for them.
        """
        output_hidden_states = (
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        frames, num_frames = self.embeddings(pixel_values)
        hidden_states = []
        for stage in self.encoder.stages:
            if output_hidden_states:
                # Each hidden state is a view of the tensor the next stage reads, so gradients reach it.
                video = _as_video(frames, num_frames)
                hidden_states.append(video)
                frames = video.transpose(1, 2).flatten(0, 1)
            frames = stage(frames, num_frames)
        last_hidden_state = _as_video(frames, num_frames)
        pooled = self.layernorm(last_hidden_state.mean(dim=(2, 3, 4)))
        return BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=last_hidden_state, pooler_output=pooled,
            hidden_states=(*hidden_states, last_hidden_state) if output_hidden_states else None,
        )


class TadaConvNextV2ForVideoClassification(TadaConvNextV2PreTrainedModel):
    """TAdaConvNeXtV2 with the authors' head: dropout and a linear layer on the pooled features. Returns logits (the
    authors' models return softmax probabilities in eval mode)."""

    def __init__(self, config: TadaConvNextV2Config):
        super().__init__(config)
        self.tada_convnext_v2 = TadaConvNextV2Model(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = (
            nn.Linear(config.hidden_sizes[-1], config.num_labels) if config.num_labels > 0 else nn.Identity()
        )
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> ImageClassifierOutputWithNoAttention:
        r"""
        pixel_values (`torch.Tensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
            Normalised clips; or `(batch_size, num_views, num_frames, num_channels, height, width)`, several views of
            each video: `logits` are then the log of the mean of the views' softmax (single-label classification
            only), and `hidden_states` are per view.
        labels (`torch.Tensor`, *optional*):
            Class indices `(batch_size,)` (single-label), multi-hot floats `(batch_size, num_labels)` (multi-label)
            or floats (regression, `num_labels == 1`); `config.problem_type` picks the loss as in every transformers
            classifier.
        kwargs: arguments that generic code passes to every model (e.g. `output_attentions`), unused here.
        """
        pixel_values, views = flatten_views(pixel_values, self.config.problem_type)
        outputs = self.tada_convnext_v2(
            pixel_values, output_hidden_states=output_hidden_states, return_dict=True, **kwargs)
        logits = average_views(self.classifier(self.dropout(outputs.pooler_output)), views)
        loss = None
        if labels is not None:
            loss = self.loss_function(labels=labels, pooled_logits=logits, config=self.config)
        return ImageClassifierOutputWithNoAttention(loss=loss, logits=logits, hidden_states=outputs.hidden_states)


# Saved folders carry this file, the configuration's and tada_ops, so they load with `trust_remote_code=True`.
TadaConvNextV2Config.register_for_auto_class()
TadaConvNextV2Model.register_for_auto_class("AutoModel")
TadaConvNextV2ForVideoClassification.register_for_auto_class("AutoModelForVideoClassification")

__all__ = [
    "TadaConvNextV2PreTrainedModel",
    "TadaConvNextV2Model",
    "TadaConvNextV2ForVideoClassification",
    "TadaDepthwiseConv2d",
    "TadaConvNextV2RouteFunction",
]
