"""TAdaConvNeXtV2 (TAdaConvV2, "Temporally-Adaptive Models for Efficient Video Understanding") as a transformers model.

After the Conv3d stem, the network mixes frames only in the route functions and the temporal aggregation, so it runs
on frames: activations are (batch * frames, channels, height, width) tensors in channels-last memory, every spatial
convolution an ordinary 2D one, every LayerNorm and Linear a plain one over the last axis of a channels-last view.

TAdaConv as one op: see tada_v2_ops, which this model shares with TAdaFormer.

This file imports only torch, transformers and its sibling files (configuration, tada_ops, tada_v2_ops), so that
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
from .tada_ops import (MapsTheBaseModelWhenSaved, WritesItsVideoProcessorWhenSaved, average_views, check_clips,
                       flatten_views, temporal_window_sum)
from .tada_v2_ops import (
    QUICK_GELU_SCALE,
    TadaDepthwiseConv2d,
    TadaV2RouteFunction,
    channels_first,
    channels_last,
    drop_path_per_clip,
    is_plain_linear,
    reusable,
    scaled_linear,
    scaled_quick_gelu_of_linear,
    starting_at_zero,
)

STEM_PATCH_SIZE = 4
DOWNSAMPLING_FACTOR = 2
DEPTHWISE_KERNEL_SIZE = 7
MLP_RATIO = 4


def _layer_norm_channels(frames: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
    """LayerNorm over the channels of (N, C, H, W) frames (the authors' channels-first LayerNorm)."""
    return channels_first(norm(channels_last(frames)))


class TadaConvNextV2RouteFunction(TadaV2RouteFunction):
    """The route function of a TAdaConvNeXtV2 block (see `TadaV2RouteFunction`): calibration starts at 1."""

    def __init__(self, config: TadaConvNextV2Config, channels: int):
        super().__init__(channels, config.route_reduction, config.route_kernel_sizes, config.route_head_dim,
                         config.bias_calibration, config.layer_norm_eps, calibration_starts_at_one=True)


class TadaConvNextV2Layer(GradientCheckpointingLayer):
    """A TAdaConvNeXtV2 block, the unit of activation checkpointing: TAda depthwise 7x7 convolution -> temporal
    aggregation `LN(y) + LN'(avgpool_time(y))` -> Linear (4x) -> activation -> Linear -> layer scale -> stochastic
    depth, added to the input. With `temporal_adaptive=False`: a ConvNeXt block, `LN(y)` alone."""

    def __init__(self, config: TadaConvNextV2Config, channels: int, drop_path_rate: float):
        super().__init__()
        self.dwconv = TadaDepthwiseConv2d(channels, DEPTHWISE_KERNEL_SIZE)
        self.layernorm = nn.LayerNorm(channels, eps=config.layer_norm_eps)
        if config.temporal_adaptive:
            self.route = TadaConvNextV2RouteFunction(config, channels)
            self.temporal_pool_layernorm = starting_at_zero(nn.LayerNorm(channels, eps=config.layer_norm_eps))
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
            kernel_size = self.temporal_pool_kernel_size
            window_sums = temporal_window_sum(convolved, num_frames, kernel_size)
            pool_norm = self.temporal_pool_layernorm  # LN'(sum / k) = LN' of the sum with eps * k^2: no division
            hidden = self.layernorm(convolved)
            hidden += F.layer_norm(window_sums, pool_norm.normalized_shape, pool_norm.weight, pool_norm.bias,
                                   pool_norm.eps * kernel_size**2)
        hidden = drop_path_per_clip(self.scaled_mlp(hidden), num_frames, self.drop_path_rate, self.training)
        if reusable(hidden, frames) is not None:  # the branch is a fresh tensor: the sum goes where it lies
            return channels_first(hidden.add_(channels_last(frames)))
        return frames + channels_first(hidden)

    def scaled_mlp(self, hidden: torch.Tensor) -> torch.Tensor:
        """layer scale * pwconv2(activation(pwconv1(hidden))). With plain Linears the last product is taken without
        its bias and one multiply-add applies bias, layer scale and QuickGELU's 1 / 1.702 (see
        scaled_quick_gelu_of_linear): no separate pass for the layer scale."""
        layer_scale = self.layer_scale_parameter
        if not (is_plain_linear(self.pwconv1) and is_plain_linear(self.pwconv2)):
            projected = self.pwconv2(self.activation(self.pwconv1(hidden)))
            return projected if layer_scale is None else projected * layer_scale
        if self.quick_gelu:
            activated, divisor = scaled_quick_gelu_of_linear(hidden, self.pwconv1), QUICK_GELU_SCALE
        else:
            activated, divisor = self.activation(self.pwconv1(hidden)), 1.0
        if layer_scale is None:
            return scaled_linear(activated, self.pwconv2.weight, 1 / divisor, self.pwconv2.bias)
        product = scaled_linear(activated, self.pwconv2.weight, 1.0)
        if self.pwconv2.bias is None:
            return product * (layer_scale / divisor)
        bias, scale = layer_scale * self.pwconv2.bias, layer_scale / divisor
        return torch.addcmul(bias, product, scale, out=reusable(product, bias, scale))


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


class TadaConvNextV2Encoder(nn.Module):
    """The four stages, with drop-path rates rising linearly over all blocks."""

    def __init__(self, config: TadaConvNextV2Config):
        super().__init__()
        # Plain floats (a tensor here would not build on the meta device).
        blocks = sum(config.depths)
        rates = [config.drop_path_rate * index / max(blocks - 1, 1) for index in range(blocks)]
        starts = [sum(config.depths[:index]) for index in range(len(config.depths))]
        in_channels = [None] + list(config.hidden_sizes[:-1])
        self.stages = nn.ModuleList(
            TadaConvNextV2Stage(config, in_channels[index], width, rates[starts[index]:starts[index] + depth])
            for index, (depth, width) in enumerate(zip(config.depths, config.hidden_sizes))
        )

    def forward(self, frames: torch.Tensor, num_frames: int, output_hidden_states: bool = False):
        """(the last stage's output as a video, (B, C, T, H, W); with `output_hidden_states`, the stem's and every
        stage's). Each hidden state is a view of the tensor the next stage reads, so gradients reach it."""
        hidden_states = []
        for stage in self.stages:
            if output_hidden_states:
                video = _as_video(frames, num_frames)
                hidden_states.append(video)
                frames = video.transpose(1, 2).flatten(0, 1)
            frames = stage(frames, num_frames)
        return _as_video(frames, num_frames), hidden_states


class TadaConvNextV2Embeddings(nn.Module):
    """The stem: a Conv3d (kernel t x 4 x 4, stride s x 4 x 4, zero-padded in time), then a LayerNorm over channels.
    Returns frames (batch * num_output_frames, C, H/4, W/4) in channels-last memory, and the frame count."""

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
        return channels_first(frames), num_frames

    def _check(self, pixel_values: torch.Tensor) -> None:
        check_clips(pixel_values, self.num_channels)
        shape = tuple(pixel_values.shape)
        batch, num_frames, _, height, width = shape
        if min(height, width) < self.min_frame_size:
            raise ValueError(f"pixel_values of shape {shape}: frames of {height}x{width} are too small for this "
                             f"network, which divides them by {self.min_frame_size}; give frames of at least "
                             f"{self.min_frame_size}x{self.min_frame_size}.")


def _as_video(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(B*T, C, H, W) -> (B, C, T, H, W), the layout of the authors' backbone features (a view)."""
    return frames.unflatten(0, (-1, num_frames)).transpose(1, 2)


class TadaConvNextV2PreTrainedModel(WritesItsVideoProcessorWhenSaved, MapsTheBaseModelWhenSaved,
                                    PreTrainedModel):
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
        self.encoder = TadaConvNextV2Encoder(config)
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
        last_hidden_state, hidden_states = self.encoder(frames, num_frames, output_hidden_states)
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
