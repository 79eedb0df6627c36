"""Operations that every TAda model family shares: the temporal average pool of the TAdaConv output branch, the
per-frame spatial mean and the temporal convolutions that the route functions read, the classifiers' handling
of several views per video, and activation checkpointing of blocks that hold BatchNorms.

Activations are (batch * frames, ...) tensors, frames of one clip next to each other. This file imports only torch:
each model folder holds it as a link to this one file, so that `register_for_auto_class` copies it beside the weights
(it follows single-level relative imports only) and a saved folder stands alone; there is one source to edit.
"""

import os
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


def temporal_average_pool(frames: torch.Tensor, num_frames: int, kernel_size: int) -> torch.Tensor:
    """Average each frame with its temporal neighbours, zero-padded at the clip ends and divided by `kernel_size`
    (AvgPool3d((k, 1, 1), stride 1, padding (k // 2, 0, 0), count_include_pad=True) of the originals). Any per-frame
    layout: (B*T, C, H, W), (B*T, H, W, C), ..."""
    return _TemporalWindowSum.apply(frames, num_frames, kernel_size, kernel_size)


def temporal_window_sum(frames: torch.Tensor, num_frames: int, kernel_size: int) -> torch.Tensor:
    """`kernel_size` times `temporal_average_pool`: the sum over each frame's window, for a consumer that can take
    the division itself at no cost (a LayerNorm: LN(x / k, eps) = LN(x, eps * k^2))."""
    return _TemporalWindowSum.apply(frames, num_frames, kernel_size, 1)


def _sum_of_shifted_frames(frames: torch.Tensor, num_frames: int, kernel_size: int, divisor: int) -> torch.Tensor:
    clips = frames.reshape(-1, num_frames, frames[0].numel())
    reach = min(kernel_size // 2, num_frames - 1)
    if reach == 0 or torch.compiler.is_compiling():  # compiled, the passes fuse (and `out=` a slice breaks graphs)
        summed, nearest_done = clips.clone(), 0
    else:  # the nearest neighbours in two passes (no copy of the input first)
        summed, nearest_done = torch.empty_like(clips), 1
        torch.add(clips[:, 1:], clips[:, :-1], out=summed[:, 1:])
        summed[:, 0] = clips[:, 0]
        summed[:, :-1] += clips[:, 1:]
    for shift in range(1 + nearest_done, reach + 1):
        summed[:, shift:] += clips[:, :-shift]
        summed[:, :-shift] += clips[:, shift:]
    if divisor != 1:
        summed.div_(divisor)
    return summed.view(frames.shape)


class _TemporalWindowSum(torch.autograd.Function):
    """Sums of time-shifted slices, elementwise work that parallelises over every pixel (avg_pool2d over a
    (B, 1, T, C*H*W) view was about 6x slower on CPU, forward and backward). The pool is a symmetric, zero-padded
    band matrix along time, so its backward is the same pool applied to the gradient: nothing is saved for it."""

    @staticmethod
    def forward(ctx, frames, num_frames, kernel_size, divisor):
        ctx.num_frames, ctx.kernel_size, ctx.divisor = num_frames, kernel_size, divisor
        return _sum_of_shifted_frames(frames, num_frames, kernel_size, divisor)

    @staticmethod
    def backward(ctx, gradient):
        return _TemporalWindowSum.apply(gradient, ctx.num_frames, ctx.kernel_size, ctx.divisor), None, None, None


def spatial_mean(frames: torch.Tensor) -> torch.Tensor:
    """Per-frame channel means, (N, C, H, W) -> (N, C), whatever the memory format."""
    if not (torch.is_grad_enabled() and frames.requires_grad):  # no backward to shape: skip the Function's overhead
        return frames.mean(dim=(2, 3))
    return _SpatialMean.apply(frames)


class _SpatialMean(torch.autograd.Function):
    """Its backward hands back a broadcast view of the gradient instead of the full-size tensor autograd's `mean`
    writes: the route's gradient is then added into its input's without an extra pass over the frames."""

    @staticmethod
    def forward(ctx, frames):
        ctx.shape = frames.shape
        return frames.mean(dim=(2, 3))

    @staticmethod
    def backward(ctx, gradient):
        height, width = ctx.shape[2:]
        return (gradient / (height * width))[:, :, None, None].expand(ctx.shape)


def temporal_convolution(sequence: torch.Tensor, convolution: nn.Conv1d) -> torch.Tensor:
    """`convolution` (zero-padded, stride 1) along time of a (B, T, C_in) sequence, as one matrix product over each
    frame's window: (B, T, C_out). On a CPU, each of the route functions' tiny convolutions cost about 0.4 ms forward
    and backward through the convolution kernels; as matrix products the route functions run about 1.6x faster."""
    kernel_size = convolution.kernel_size[0]
    windows = F.pad(sequence, (0, 0, kernel_size // 2, kernel_size // 2)).unfold(1, kernel_size, 1)  # (B, T, C, k)
    return F.linear(windows.reshape(*sequence.shape[:2], -1), convolution.weight.flatten(1), convolution.bias)


def flatten_views(pixel_values: torch.Tensor, problem_type: str | None) -> tuple[torch.Tensor, int | None]:
    """(batch, views, frames, C, H, W) -> (batch * views, frames, C, H, W) and the number of views; a 5-D batch of
    clips comes back as it is, with None. Views are averaged as softmax probabilities: single-label only."""
    if pixel_values.dim() != 6:
        return pixel_values, None
    if problem_type not in (None, "single_label_classification"):
        raise ValueError(f"pixel_values of shape {tuple(pixel_values.shape)} hold several views per video, which are "
                         "averaged as softmax probabilities: that is for single-label classification, not "
                         f"{problem_type}. Give one clip per row.")
    return pixel_values.flatten(0, 1), pixel_values.shape[1]


def average_views(logits: torch.Tensor, views: int | None) -> torch.Tensor:
    """One answer per video from the logits of its `views` views: the log of the mean of their softmax."""
    if views is None:
        return logits
    return logits.view(-1, views, logits.shape[-1]).softmax(dim=-1).mean(dim=1).log()


class BatchNormStatisticsUpdatedOnce:
    """Mixin for a block that holds BatchNorms and is a unit of activation checkpointing (before
    `GradientCheckpointingLayer` among its bases). Checkpointing re-runs the block during backward; that re-run
    normalises with the same batch statistics and leaves the BatchNorm running statistics alone, so a checkpointed
    step updates them exactly once."""

    @property
    def _gradient_checkpointing_func(self):
        return self.__dict__.get("_checkpointing_function")

    @_gradient_checkpointing_func.setter
    def _gradient_checkpointing_func(self, checkpoint_function):
        # transformers sets the checkpointing function on every block; each block wraps it with its own replay rule.
        self.__dict__["_checkpointing_function"] = (
            None if checkpoint_function is None else _statistics_updated_once(checkpoint_function, self))

    @_gradient_checkpointing_func.deleter
    def _gradient_checkpointing_func(self):
        self.__dict__.pop("_checkpointing_function", None)


def _statistics_updated_once(checkpoint_function, layer: nn.Module):
    """`checkpoint_function(function, *args)` for `layer`: only the first run of the layer's forward may update the
    BatchNorm running statistics; the replay during backward normalises with the same batch statistics."""
    def checkpointed(function, *args, **kwargs):
        calls = 0

        def run(*run_args, **run_kwargs):
            nonlocal calls
            calls += 1
            if calls == 1:
                return function(*run_args, **run_kwargs)
            with _batch_norm_statistics_frozen(layer):
                return function(*run_args, **run_kwargs)

        return checkpoint_function(run, *args, **kwargs)

    return checkpointed


@contextmanager
def _batch_norm_statistics_frozen(module: nn.Module):
    # Momentum 0 keeps the running statistics bit-exact while the layer still normalises with the batch's, and
    # saves the same tensors for backward as the first run (which non-reentrant checkpointing verifies).
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    saved = [(norm.momentum, norm.num_batches_tracked.clone()) for norm in norms]
    for norm in norms:
        norm.momentum = 0.0
    try:
        yield
    finally:
        for norm, (momentum, num_batches_tracked) in zip(norms, saved):
            norm.momentum = momentum
            norm.num_batches_tracked.copy_(num_batches_tracked)


def check_clips(pixel_values: torch.Tensor, num_channels: int) -> None:
    """What every TAda model asks of its input: (batch, frames, channels, height, width), floating point, at least
    one clip of at least one frame; each failure says what to do."""
    shape = tuple(pixel_values.shape)
    if pixel_values.dim() != 5 or shape[2] != num_channels:
        raise ValueError(
            f"pixel_values must have shape (batch, num_frames, {num_channels}, height, width); got {shape}. "
            "A (batch, channels, frames, height, width) tensor needs `.permute(0, 2, 1, 3, 4)` first.")
    if not pixel_values.is_floating_point():
        raise ValueError(
            f"pixel_values must be floating point, normalised as in training; got {pixel_values.dtype} {shape}. "
            "Convert uint8 frames with the model's video processor (AutoVideoProcessor), or scale them to "
            "[0, 1] and normalise them yourself.")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"pixel_values of shape {shape} holds no {'clip' if shape[0] == 0 else 'frame'}; a batch "
                         "needs at least one clip of at least one frame.")


class WritesItsVideoProcessorWhenSaved:
    """Mixed into a family's PreTrainedModel: a folder the model is saved into without a video processor gets one,
    with the model's frames and size and the family's normalisation (`video_processor_defaults`), so that the
    pipeline, `hf_video.predict` and the demo read any saved folder as the model expects (an inflated or `from_clip`
    model too). A processor saved after the model (the Trainer's, a converter's) replaces it. Where hf_video is not
    installed (the remote code of a downloaded folder), nothing is added: that folder came with its processor."""

    video_processor_defaults: dict = {}

    def save_pretrained(self, save_directory, *args, **kwargs):
        result = super().save_pretrained(save_directory, *args, **kwargs)
        folder = os.fspath(save_directory)
        if kwargs.get("is_main_process", True) and not os.path.exists(os.path.join(folder,
                                                                                   "video_preprocessor_config.json")):
            try:
                from hf_video.clips.video_processing_tada import TadaVideoProcessor
            except ImportError:
                return result
            config = self.config
            TadaVideoProcessor(num_frames=config.num_frames, image_size=config.image_size,
                               **self.video_processor_defaults).save_pretrained(folder)
        return result


class MapsTheBaseModelWhenSaved:
    """Mixed into a family's PreTrainedModel: a saved classifier's `auto_map` names the base model under `AutoModel`
    too (transformers writes only the saved class's entry), so `AutoModel.from_pretrained(folder,
    trust_remote_code=True)` loads the backbone of any saved folder."""

    def save_pretrained(self, *args, **kwargs):
        base = self.base_model
        if getattr(self, "_auto_class", None) is not None and base is not self:
            entry = f"{type(base).__module__.split('.')[-1]}.{type(base).__name__}"
            self.config.auto_map = {**(getattr(self.config, "auto_map", None) or {}), "AutoModel": entry}
        return super().save_pretrained(*args, **kwargs)
