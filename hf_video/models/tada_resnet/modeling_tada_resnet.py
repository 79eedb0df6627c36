"""TAda ResNet3D (TAdaConv, ICLR 2022) as a transformers model.

The network never mixes frames except in the route functions and the temporal-pool branches, so it runs on frames:
activations are kept as (batch * frames, channels, height, width) and every convolution is an ordinary 2D one.
That is exact: a 1x1x1 / 1xkxk Conv3d equals a Conv2d applied to each frame, a BatchNorm3d over (B, C, T, H, W)
equals a BatchNorm2d over (B*T, C, H, W), and a TAdaConv2d, whose calibration scales the *input* channels of its
weight, equals a plain convolution of the calibrated input: conv2d(x_t, alpha_t * W) == conv2d(alpha_t * x_t, W).
The original builds B*T weight copies and runs a grouped convolution instead, which is several times slower.

This file imports only torch, transformers and its sibling files (configuration, tada_ops), so that
`register_for_auto_class` can ship them beside saved weights for `trust_remote_code=True` users.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils.generic import can_return_tuple
from transformers.modeling_outputs import (
    BaseModelOutputWithPoolingAndNoAttention,
    ImageClassifierOutputWithNoAttention,
)

from .configuration_tada_resnet import BOTTLENECK_EXPANSION, TadaResNetConfig
from .tada_ops import (
    BatchNormStatisticsUpdatedOnce,
    MapsTheBaseModelWhenSaved,
    WritesItsVideoProcessorWhenSaved,
    average_views,
    check_clips,
    flatten_views,
    spatial_mean,
    temporal_average_pool,
    temporal_convolution,
)

# The original's route-function BatchNorm ignores the model-wide settings.
ROUTE_BATCH_NORM_EPS = 1e-5
ROUTE_BATCH_NORM_MOMENTUM = 0.1


def _batch_norm(config: TadaResNetConfig, channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=config.batch_norm_eps, momentum=config.batch_norm_momentum)


def _starting_at_zero(module: nn.Module) -> nn.Module:
    """Marks a layer whose weight `_init_weights` sets to zero: the original switches some paths off at the start."""
    module.zero_init_weight = True
    return module


class TadaConv2d(nn.Module):
    """A 2D convolution whose weight is calibrated per sample and per frame along its input channels.

    `forward(frames, calibration)` computes, for every frame t of every clip b, conv2d(x_bt, alpha_bt * W) where
    alpha_bt scales W's input-channel axis; it is evaluated as conv2d(alpha_bt * x_bt, W), one convolution over all
    frames. The weight has the shape (out_channels, in_channels, k, k) of an ordinary Conv2d.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.stride = stride
        self.padding = kernel_size // 2

    def forward(self, frames: torch.Tensor, calibration: torch.Tensor | None = None) -> torch.Tensor:
        # frames: (B*T, C_in, H, W); calibration: (B*T, C_in), or None for a plain per-frame convolution.
        if calibration is not None:
            frames = frames * calibration[:, :, None, None]
        return F.conv2d(frames, self.weight, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        out_channels, in_channels, kernel_size, _ = self.weight.shape
        return f"{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={self.stride}, padding={self.padding}"


class TadaResNetRouteFunction(nn.Module):
    """Computes a TAdaConv2d's calibration from its input: per-frame channel descriptors (spatial means), plus a
    projection of the clip-level descriptor, go through two temporal convolutions; the output is `1 + ...`, with the
    last convolution zero-initialised so the calibration starts at exactly 1.

    The convolutions keep the original's Conv1d weights (and checkpoint names) but run as matrix products on
    (B, T, C) sequences (`temporal_convolution`)."""

    def __init__(self, channels: int, reduction: int, kernel_sizes):
        super().__init__()
        hidden = channels // reduction
        self.global_projection = nn.Conv1d(channels, channels, 1)
        self.reduce = nn.Conv1d(channels, hidden, kernel_sizes[0], padding=kernel_sizes[0] // 2)
        self.normalization = nn.BatchNorm1d(hidden, eps=ROUTE_BATCH_NORM_EPS, momentum=ROUTE_BATCH_NORM_MOMENTUM)
        self.activation = nn.ReLU()
        self.expand = _starting_at_zero(
            nn.Conv1d(hidden, channels, kernel_sizes[1], padding=kernel_sizes[1] // 2, bias=False)
        )

    def forward(self, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        channels = frames.shape[1]
        per_frame = spatial_mean(frames).view(-1, num_frames, channels)  # (B, T, C)
        per_clip = per_frame.mean(dim=1, keepdim=True)  # (B, 1, C)
        clip_term = F.linear(per_clip, self.global_projection.weight.flatten(1), self.global_projection.bias)
        hidden = temporal_convolution(per_frame + clip_term, self.reduce)  # (B, T, hidden)
        hidden = self.activation(self.normalization(hidden.transpose(1, 2))).transpose(1, 2)
        calibration = temporal_convolution(hidden, self.expand) + 1
        return calibration.reshape(-1, channels)  # (B*T, C)


class TadaResNetTadaUnit(nn.Module):
    """TAdaConv2d with its route function and output normalisation:
    `norm(y) + temporal_pool_norm(temporal_avgpool(y))`, both terms from the same raw convolution output y.
    With `temporal_adaptive=False` it is a plain per-frame convolution followed by `norm`."""

    def __init__(self, config: TadaResNetConfig, channels: int, out_channels: int, stride: int):
        super().__init__()
        self.convolution = TadaConv2d(channels, out_channels, kernel_size=3, stride=stride)
        self.normalization = _batch_norm(config, out_channels)
        self.temporal_pool_kernel_size = config.temporal_pool_kernel_size
        if config.temporal_adaptive:
            self.route = TadaResNetRouteFunction(channels, config.route_reduction, config.route_kernel_sizes)
            self.temporal_pool_normalization = _starting_at_zero(_batch_norm(config, out_channels))
        else:
            self.route = None
            self.temporal_pool_normalization = None

    def forward(self, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        if self.route is None:
            return self.normalization(self.convolution(frames))
        output = self.convolution(frames, self.route(frames, num_frames))
        pooled = temporal_average_pool(output, num_frames, self.temporal_pool_kernel_size)
        # In place: BatchNorm's backward needs its input, not its output.
        return self.normalization(output).add_(self.temporal_pool_normalization(pooled))


class TadaResNetConvLayer(nn.Module):
    """Per-frame convolution -> BatchNorm -> optional ReLU."""

    def __init__(self, config, in_channels, out_channels, kernel_size=1, stride=1, activation=True):
        super().__init__()
        self.convolution = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
        )
        self.normalization = _batch_norm(config, out_channels)
        self.activation = nn.ReLU() if activation else nn.Identity()

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.activation(self.normalization(self.convolution(frames)))


class TadaResNetLayer(BatchNormStatisticsUpdatedOnce, GradientCheckpointingLayer):
    """A residual block, the unit of activation checkpointing (`gradient_checkpointing_enable`, `every_n_layers`
    counts these). The checkpointing re-runs a block during backward; that re-run normalises with the same batch
    statistics and leaves the BatchNorm running statistics alone, so a checkpointed step updates them exactly once
    (`BatchNormStatisticsUpdatedOnce`)."""


class TadaResNetBottleneckLayer(TadaResNetLayer):
    """The original TAda bottleneck: 1x1 reduce -> TAda 3x3 (carries the stride) -> ReLU -> 1x1 expand, plus the
    shortcut (a strided 1x1 projection where the shape changes), ReLU."""

    def __init__(self, config: TadaResNetConfig, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        width = out_channels // BOTTLENECK_EXPANSION
        self.shortcut = _shortcut(config, in_channels, out_channels, stride)
        self.reduce = TadaResNetConvLayer(config, in_channels, width, kernel_size=1)
        self.tada = TadaResNetTadaUnit(config, width, width, stride)
        self.expand = TadaResNetConvLayer(config, width, out_channels, kernel_size=1, activation=False)
        self.activation = nn.ReLU()

    def forward(self, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        hidden = self.activation(self.tada(self.reduce(frames), num_frames))
        return self.activation(self.expand(hidden) + self.shortcut(frames))


class TadaResNetBasicLayer(TadaResNetLayer):
    """Our TAda basic block (depths 18/34; the originals have none): a plain 3x3 convolution carrying the stride ->
    BN -> ReLU, then the TAda 3x3 whose route function reads that output, plus the shortcut, ReLU."""

    def __init__(self, config: TadaResNetConfig, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.shortcut = _shortcut(config, in_channels, out_channels, stride)
        self.conv = TadaResNetConvLayer(config, in_channels, out_channels, kernel_size=3, stride=stride)
        self.tada = TadaResNetTadaUnit(config, out_channels, out_channels, stride=1)
        self.activation = nn.ReLU()

    def forward(self, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        return self.activation(self.tada(self.conv(frames), num_frames) + self.shortcut(frames))


def _shortcut(config, in_channels, out_channels, stride) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return TadaResNetConvLayer(config, in_channels, out_channels, kernel_size=1, stride=stride, activation=False)


class TadaResNetStage(nn.Module):
    """A stage of blocks; its first block halves the spatial resolution (in every stage, the first one too)."""

    def __init__(self, config: TadaResNetConfig, in_channels: int, out_channels: int, depth: int):
        super().__init__()
        block = TadaResNetBasicLayer if config.layer_type == "basic" else TadaResNetBottleneckLayer
        self.layers = nn.ModuleList(
            block(config, in_channels if index == 0 else out_channels, out_channels, stride=2 if index == 0 else 1)
            for index in range(depth)
        )

    def forward(self, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        for layer in self.layers:
            frames = layer(frames, num_frames)
        return frames


class TadaResNetEncoder(nn.Module):
    def __init__(self, config: TadaResNetConfig):
        super().__init__()
        widths = [config.stem_width] + list(config.hidden_sizes)
        self.stages = nn.ModuleList(
            TadaResNetStage(config, widths[index], widths[index + 1], depth)
            for index, depth in enumerate(config.depths)
        )

    def forward(self, frames: torch.Tensor, num_frames: int, output_hidden_states: bool = False):
        """(the last stage's output as a video, (B, C, T, H, W); with `output_hidden_states`, the stem's and every
        stage's). Each hidden state is the tensor the next stage reads (a view of it), so gradients reach it."""
        stage_outputs = []
        for stage in self.stages:
            if output_hidden_states:
                video = _as_video(frames, num_frames)
                stage_outputs.append(video)
                frames = _as_frames(video)
            frames = stage(frames, num_frames)
        return _as_video(frames, num_frames), stage_outputs


class TadaResNetEmbeddings(nn.Module):
    """The stem: a per-frame k x k convolution with stride 2, BN, ReLU, and no max-pool."""

    def __init__(self, config: TadaResNetConfig):
        super().__init__()
        self.num_channels = config.num_channels
        self.convolution = nn.Conv2d(
            config.num_channels, config.stem_width, config.stem_kernel_size, stride=2,
            padding=config.stem_kernel_size // 2, bias=False,
        )
        self.normalization = _batch_norm(config, config.stem_width)
        self.activation = nn.ReLU()
        # The stem and every stage halve the frames: smaller ones reach the last stages as padding alone.
        self.min_frame_size = 2 ** (1 + len(config.hidden_sizes))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        self._check(pixel_values)
        batch, num_frames = pixel_values.shape[:2]
        frames = pixel_values.reshape(batch * num_frames, *pixel_values.shape[2:])
        # The frames' memory layout sets the convolutions' (their outputs keep it): channels-last runs faster on a
        # GPU (cuDNN's NHWC kernels), contiguous on a CPU. Clips arrive either way (crops come out channels-last).
        layout = torch.channels_last if frames.device.type == "cuda" else torch.contiguous_format
        frames = frames.to(self.convolution.weight.dtype).contiguous(memory_format=layout)
        return self.activation(self.normalization(self.convolution(frames)))

    def _check(self, pixel_values: torch.Tensor) -> None:
        check_clips(pixel_values, self.num_channels)
        shape = tuple(pixel_values.shape)
        batch, num_frames, _, height, width = shape
        if min(height, width) < self.min_frame_size:
            raise ValueError(f"pixel_values of shape {shape}: frames of {height}x{width} are too small for this "
                             f"network, which halves them {self.min_frame_size.bit_length() - 1} times; give frames of "
                             f"at least {self.min_frame_size}x{self.min_frame_size}.")
        if self.training and batch * num_frames < 2:
            raise ValueError(f"pixel_values of shape {shape}: training needs more than one frame in the batch (the "
                             "route functions' BatchNorm normalises over clips and frames); use a larger batch or "
                             "more frames, or call model.eval() for inference.")


def _as_video(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(B*T, C, H, W) -> (B, C, T, H, W), the layout of the original backbone's features (a view)."""
    total, channels, height, width = frames.shape
    return frames.view(total // num_frames, num_frames, channels, height, width).transpose(1, 2)


def _as_frames(video: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B*T, C, H, W): the inverse of `_as_video` (a view of its input)."""
    batch, channels, num_frames, height, width = video.shape
    return video.transpose(1, 2).reshape(batch * num_frames, channels, height, width)


class TadaResNetPreTrainedModel(WritesItsVideoProcessorWhenSaved, MapsTheBaseModelWhenSaved,
                                PreTrainedModel):
    config_class = TadaResNetConfig
    base_model_prefix = "tada_resnet"
    main_input_name = "pixel_values"
    input_modalities = "video"
    supports_gradient_checkpointing = True
    # A residual block stays on one device when a model is split across devices (device_map="auto").
    _no_split_modules = ["TadaResNetBottleneckLayer", "TadaResNetBasicLayer"]
    # The losses here average over the local batch; taking `num_items_in_batch` would make the Trainer multiply them
    # by the number of processes.
    accepts_loss_kwargs = False

    @torch.no_grad()
    def _init_weights(self, module):
        """The original initialisation. The route function's last convolution (calibration starts at 1) and the
        temporal-pool BatchNorm (temporal branch starts switched off) are marked to start at zero."""
        starts_at_zero = getattr(module, "zero_init_weight", False)
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            if starts_at_zero:
                init.zeros_(module.weight)
            else:
                init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, TadaConv2d):
            # The original's kaiming_uniform_(a=sqrt(5)) on its (1, 1, C_out, C_in, k, k) weight, whose fan-in
            # PyTorch computes as C_out * C_in * k * k: uniform in +-1/sqrt(fan_in).
            bound = 1.0 / math.sqrt(module.weight.numel())
            init.uniform_(module.weight, -bound, bound)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            init.constant_(module.weight, 0.0 if starts_at_zero else 1.0)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
            init.zeros_(module.num_batches_tracked)
        elif isinstance(module, nn.Linear):
            # PyTorch's default Linear initialisation, as the original head keeps it.
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                bound = 1.0 / math.sqrt(module.weight.shape[1]) if module.weight.shape[1] > 0 else 0.0
                init.uniform_(module.bias, -bound, bound)


class TadaResNetModel(TadaResNetPreTrainedModel):
    """The TAda ResNet3D backbone. `last_hidden_state` and `hidden_states` have the original's layout
    (batch, channels, frames, height, width); `pooler_output` is the (batch, channels) average over all three."""

    def __init__(self, config: TadaResNetConfig):
        super().__init__(config)
        self.embedder = TadaResNetEmbeddings(config)
        self.encoder = TadaResNetEncoder(config)
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
            Normalised clips.
        kwargs: arguments that generic code passes to every model (e.g. `output_attentions`); a convolutional model
            has no use for them.
        """
        output_hidden_states = (
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        num_frames = pixel_values.shape[1]

        last_hidden_state, earlier = self.encoder(self.embedder(pixel_values), num_frames, output_hidden_states)
        pooled = last_hidden_state.mean(dim=(2, 3, 4))  # from the returned tensor: gradients reach it
        hidden_states = (*earlier, last_hidden_state) if output_hidden_states else None
        return BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=last_hidden_state, pooler_output=pooled, hidden_states=hidden_states
        )


class TadaResNetForVideoClassification(TadaResNetPreTrainedModel):
    """TAda ResNet3D with the original head: global average pool, dropout, linear layer. Returns logits (the
    originals return softmax probabilities in eval mode)."""

    def __init__(self, config: TadaResNetConfig):
        super().__init__(config)
        self.tada_resnet = TadaResNetModel(config)
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
            each video (what a video processor with `temporal_crops` x `spatial_crops` views returns). Views give one
            answer per video, as the recipe's video-level evaluation: `logits` are the log of the mean of the views'
            softmax, so their softmax is that mean (single-label classification only). `hidden_states` are then per
            view, `(batch_size * num_views, ...)`.
        labels (`torch.Tensor`, *optional*):
            Class indices of shape `(batch_size,)` for single-label classification (cross-entropy), multi-hot
            floats of shape `(batch_size, num_labels)` for multi-label (BCE), or floats for regression (MSE, when
            `num_labels == 1`); `config.problem_type` picks among them as in every transformers classifier.
        kwargs: arguments that generic code passes to every model (e.g. `output_attentions`), unused here.
        """
        pixel_values, views = flatten_views(pixel_values, self.config.problem_type)
        outputs = self.tada_resnet(pixel_values, output_hidden_states=output_hidden_states, return_dict=True, **kwargs)
        logits = average_views(self.classifier(self.dropout(outputs.pooler_output)), views)
        loss = None
        if labels is not None:
            loss = self.loss_function(labels=labels, pooled_logits=logits, config=self.config)
        return ImageClassifierOutputWithNoAttention(loss=loss, logits=logits, hidden_states=outputs.hidden_states)


# Saved folders carry this file and the configuration's, so they load with `trust_remote_code=True` anywhere.
TadaResNetConfig.register_for_auto_class()
TadaResNetModel.register_for_auto_class("AutoModel")
TadaResNetForVideoClassification.register_for_auto_class("AutoModelForVideoClassification")

__all__ = [
    "TadaConv2d",
    "TadaResNetRouteFunction",
    "TadaResNetPreTrainedModel",
    "TadaResNetModel",
    "TadaResNetForVideoClassification",
]
