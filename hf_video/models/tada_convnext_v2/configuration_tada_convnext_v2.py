"""Configuration of TAdaConvNeXtV2 ("Temporally-Adaptive Models for Efficient Video Understanding", TAdaConvV2)."""

from transformers import PreTrainedConfig

from .config_checks import (check_choice, check_num_labels, check_odd, check_positive_int, check_positive_number,
                            check_probability)

# The activations the blocks may use: the authors' QuickGELU, or GELU as in the 2D ConvNeXt it inflates.
BLOCK_ACTIVATIONS = ("quick_gelu", "gelu")


class TadaConvNextV2Config(PreTrainedConfig):
    r"""
    Configuration of a [`TadaConvNextV2Model`] / [`TadaConvNextV2ForVideoClassification`]: a ConvNeXt whose depthwise
    7x7 convolutions are temporally adaptive (TAdaConv2dV2). The defaults give TAdaConvNeXtV2-T as the authors
    release it (alibaba-mmai-research/TAdaConv), for 16-frame 224x224 clips.

    Architecture: a Conv3d stem (kernel `stem_temporal_kernel_size` x 4 x 4, stride `stem_temporal_stride` x 4 x 4)
    and channels-first LayerNorm, then four stages (the later three start with LayerNorm and a 2x2 stride-2
    convolution). Each block: depthwise 7x7 convolution whose weight and bias are calibrated per clip, frame and output
    channel by a route function (per-frame pooling, temporal convolution, LayerNorm, QuickGELU, residual self-attention
    over frames, temporal convolution, + 1); the temporal aggregation `LN(x) + LN'(avgpool_time(x))`; the inverted
    bottleneck (Linear 4x, activation, Linear) with layer scale and stochastic depth; the residual. The route's last
    convolutions and LN' start at zero, so a fresh model is a per-frame ConvNeXt on the frames the stem leaves.

    Args:
        num_channels (`int`, *optional*, defaults to 3):
            Channels of the input frames.
        depths (`list[int]`, *optional*, defaults to `[3, 3, 9, 3]`):
            Blocks per stage (T: [3, 3, 9, 3]; S and B: [3, 3, 27, 3]).
        hidden_sizes (`list[int]`, *optional*, defaults to `[96, 192, 384, 768]`):
            Width of each stage (T and S: [96, 192, 384, 768]; B: [128, 256, 512, 1024]).
        stem_temporal_kernel_size (`int`, *optional*, defaults to 3):
            Temporal kernel (odd) of the stem; 1 reads each kept frame alone.
        stem_temporal_stride (`int`, *optional*, defaults to 2):
            Temporal stride of the stem: a clip of T frames becomes (T - 1) // stride + 1 in the network.
        route_reduction (`int`, *optional*, defaults to 2):
            Channel reduction inside the route functions; must divide every stage width.
        route_kernel_sizes (`list[int]`, *optional*, defaults to `[3, 3]`):
            Temporal kernels (odd) of the route function's two convolutions.
        route_head_dim (`int`, *optional*, defaults to 48):
            Channels per attention head in the route functions (the authors: 48 for T and S, 64 for B); must divide
            every stage's route width (stage width / `route_reduction`).
        bias_calibration (`bool`, *optional*, defaults to `True`):
            Calibrate the depthwise convolutions' bias as well as their weight (the released models do).
        temporal_pool_kernel_size (`int`, *optional*, defaults to 3):
            Temporal kernel (odd) of the average pool in the temporal aggregation.
        temporal_adaptive (`bool`, *optional*, defaults to `True`):
            `False` leaves out the route functions and the temporal aggregation's pooled term: a per-frame ConvNeXt
            (after the stem), the 2D twin of the model.
        hidden_act (`str`, *optional*, defaults to `"quick_gelu"`):
            Activation of the blocks' inverted bottleneck: the authors' `"quick_gelu"`, or `"gelu"` as in the 2D
            ConvNeXt. The route functions always use QuickGELU.
        layer_norm_eps (`float`, *optional*, defaults to 1e-6):
            Epsilon of every LayerNorm.
        layer_scale_init_value (`float`, *optional*, defaults to 1e-6):
            Initial layer scale of each block's residual branch; 0 for none.
        drop_path_rate (`float`, *optional*, defaults to 0.0):
            Stochastic depth of the last block (rising linearly from 0 at the first); a dropped branch is dropped
            for a whole clip. The authors fine-tune T with 0.2, S with 0.4 and B with 0.6.
        classifier_dropout (`float`, *optional*, defaults to 0.5):
            Dropout before the classification layer.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the truncated normal initialisation of the convolutions and linear layers.
        num_frames (`int`, *optional*, defaults to 16):
            Frames per clip the model expects (used by processors and pipelines; the network accepts any length).
        image_size (`int`, *optional*, defaults to 224):
            Side of the square frames the model expects (used by processors and pipelines).

    Example:

    ```python
    >>> from hf_video import TadaConvNextV2Config, TadaConvNextV2ForVideoClassification
    >>> config = TadaConvNextV2Config(num_labels=51)  # TAdaConvNeXtV2-T
    >>> model = TadaConvNextV2ForVideoClassification(config)
    ```
    """

    model_type = "tada_convnext_v2"

    def __init__(
        self,
        num_channels=3,
        depths=(3, 3, 9, 3),
        hidden_sizes=(96, 192, 384, 768),
        stem_temporal_kernel_size=3,
        stem_temporal_stride=2,
        route_reduction=2,
        route_kernel_sizes=(3, 3),
        route_head_dim=48,
        bias_calibration=True,
        temporal_pool_kernel_size=3,
        temporal_adaptive=True,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-6,
        layer_scale_init_value=1e-6,
        drop_path_rate=0.0,
        classifier_dropout=0.5,
        initializer_range=0.02,
        num_frames=16,
        image_size=224,
        **kwargs,
    ):
        depths, hidden_sizes, route_kernel_sizes = list(depths), list(hidden_sizes), list(route_kernel_sizes)
        for name, value in (("num_channels", num_channels), ("stem_temporal_stride", stem_temporal_stride),
                            ("route_reduction", route_reduction), ("route_head_dim", route_head_dim),
                            ("num_frames", num_frames), ("image_size", image_size)):
            check_positive_int(name, value)
        check_odd("stem_temporal_kernel_size", stem_temporal_kernel_size)
        check_odd("temporal_pool_kernel_size", temporal_pool_kernel_size)
        if len(depths) != 4 or len(hidden_sizes) != 4:
            raise ValueError(f"depths={depths!r}, hidden_sizes={hidden_sizes!r}: expected four stages each, e.g. "
                             "depths [3, 3, 9, 3] and hidden_sizes [96, 192, 384, 768].")
        for depth in depths:
            check_positive_int("depths", depth)
        for width in hidden_sizes:
            check_positive_int("hidden_sizes", width)
        if len(route_kernel_sizes) != 2:
            raise ValueError(f"route_kernel_sizes={route_kernel_sizes!r}: expected two odd temporal kernels, e.g. "
                             "[3, 3].")
        for kernel in route_kernel_sizes:
            check_odd("route_kernel_sizes", kernel)
        if temporal_adaptive:
            for width in hidden_sizes:
                if width % route_reduction or (width // route_reduction) % route_head_dim:
                    raise ValueError(
                        f"hidden_sizes={hidden_sizes!r}, route_reduction={route_reduction}, route_head_dim="
                        f"{route_head_dim}: every stage width / route_reduction must be a whole number of attention "
                        f"heads of route_head_dim channels; stage width {width} is not.")
        for name, value in (("bias_calibration", bias_calibration), ("temporal_adaptive", temporal_adaptive)):
            if not isinstance(value, bool):
                raise ValueError(f"{name}={value!r}: expected True or False.")
        check_choice("hidden_act", hidden_act, BLOCK_ACTIVATIONS)
        check_positive_number("layer_norm_eps", layer_norm_eps, 1e-6)
        check_positive_number("initializer_range", initializer_range, 0.02)
        if isinstance(layer_scale_init_value, bool) or not isinstance(layer_scale_init_value, (int, float)) or (
                layer_scale_init_value < 0):
            raise ValueError(f"layer_scale_init_value={layer_scale_init_value!r}: expected 0 (no layer scale) or a "
                             "positive number such as 1e-6.")
        check_probability("drop_path_rate", drop_path_rate)
        check_probability("classifier_dropout", classifier_dropout)

        self.num_channels = num_channels
        self.depths = depths
        self.hidden_sizes = hidden_sizes
        self.stem_temporal_kernel_size = stem_temporal_kernel_size
        self.stem_temporal_stride = stem_temporal_stride
        self.route_reduction = route_reduction
        self.route_kernel_sizes = route_kernel_sizes
        self.route_head_dim = route_head_dim
        self.bias_calibration = bias_calibration
        self.temporal_pool_kernel_size = temporal_pool_kernel_size
        self.temporal_adaptive = temporal_adaptive
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.layer_scale_init_value = layer_scale_init_value
        self.drop_path_rate = drop_path_rate
        self.classifier_dropout = classifier_dropout
        self.initializer_range = initializer_range
        self.num_frames = num_frames
        self.image_size = image_size
        check_num_labels(kwargs)
        super().__init__(**kwargs)

    def num_output_frames(self, num_frames: int) -> int:
        """Frames the network works on for a clip of `num_frames` (the stem's temporal stride takes some away)."""
        padding = (self.stem_temporal_kernel_size - 1) // 2
        return (num_frames + 2 * padding - self.stem_temporal_kernel_size) // self.stem_temporal_stride + 1


__all__ = ["TadaConvNextV2Config"]
