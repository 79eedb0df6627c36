"""Configuration of the TAda ResNet3D video classifier (TAdaConv, ICLR 2022)."""

from transformers import PreTrainedConfig

from .config_checks import (check_choice, check_num_labels, check_odd, check_positive_int, check_positive_number,
                            check_probability)

# Blocks per stage for each supported depth.
STAGE_DEPTHS = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
BASIC_BLOCK_DEPTHS = (18, 34)
# Bottleneck width = stage output width / BOTTLENECK_EXPANSION, as in the original.
BOTTLENECK_EXPANSION = 4
DEFAULT_HIDDEN_SIZES = {"basic": (64, 128, 256, 512), "bottleneck": (256, 512, 1024, 2048)}


class TadaResNetConfig(PreTrainedConfig):
    r"""
    Configuration of a [`TadaResNetModel`] / [`TadaResNetForVideoClassification`]: a ResNet whose 3x3 convolutions are
    temporally-adaptive (TAdaConv2d, "TAda2D" in the paper). The defaults give TAda2D ResNet-50 as released by the
    authors (BatchNorm eps 1e-5), for 16-frame 112x112 clips (the HMDB51 fine-tuning recipe).

    Architecture (depth 50/101/152 are exactly the original): a stem convolution (1 x k x k, stride 2, no max-pool),
    then four stages of blocks; the first block of *every* stage halves the spatial resolution and has a projection
    shortcut. Time is never downsampled. Every block's 3x3 convolution is a TAdaConv2d: its weight is calibrated per
    sample and per frame by a route function that reads the block's features, and its output is
    `norm(y) + temporal_pool_norm(avgpool_time(y))`. The temporal-pool BatchNorm and the route function's last
    convolution start at zero, so a fresh model computes a per-frame 2D ResNet.

    Depths 18 and 34 use a TAda *basic* block of our design (the originals have none): a plain 3x3 convolution
    (carrying the stride) -> BN -> ReLU, then a TAdaConv2d 3x3 whose route function reads that output, with the same
    temporal-pool branch as the bottleneck, added to the shortcut, ReLU. It mirrors the bottleneck: the route function
    sees normalised, rectified features, and the TAdaConv2d always works at the stage's output resolution.

    Args:
        depth (`int`, *optional*, defaults to 50):
            Network depth: 18 or 34 (basic blocks) or 50, 101, 152 (bottleneck blocks; (3,4,6,3), (3,4,23,3) and
            (3,8,36,3) blocks per stage).
        num_channels (`int`, *optional*, defaults to 3):
            Channels of the input frames.
        stem_width (`int`, *optional*, defaults to 64):
            Output channels of the stem convolution.
        stem_kernel_size (`int`, *optional*, defaults to 7):
            Spatial kernel of the stem convolution (odd). Its temporal extent is 1: the stem never mixes frames.
        hidden_sizes (`list[int]`, *optional*):
            Output width of each of the four stages. Defaults to (256, 512, 1024, 2048) for bottleneck depths and
            (64, 128, 256, 512) for basic ones. A bottleneck's inner width is its stage width / 4.
        route_kernel_sizes (`list[int]`, *optional*, defaults to `[3, 3]`):
            Temporal kernels (odd) of the route function's two convolutions.
        route_reduction (`int`, *optional*, defaults to 4):
            Channel reduction inside the route function; must divide the width of every TAdaConv2d input.
        temporal_pool_kernel_size (`int`, *optional*, defaults to 3):
            Temporal kernel (odd) of the average pool of the TAdaConv2d output branch (the original's (3, 1, 1)).
        batch_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of the main BatchNorms (the released checkpoints use 1e-5; current EssentialMC2 defaults to 1e-3).
            The route function's BatchNorm always uses eps 1e-5 and momentum 0.1, as in the original.
        batch_norm_momentum (`float`, *optional*, defaults to 0.1):
            Momentum of the main BatchNorms' running statistics.
        classifier_dropout (`float`, *optional*, defaults to 0.5):
            Dropout before the classification layer.
        num_frames (`int`, *optional*, defaults to 16):
            Frames per clip the model expects (used by processors and pipelines; the network accepts any length).
        image_size (`int`, *optional*, defaults to 112):
            Side of the square frames the model expects (used by processors and pipelines).
        temporal_adaptive (`bool`, *optional*, defaults to `True`):
            `False` builds the same network with calibration fixed at 1 and no temporal-pool branch: a per-frame 2D
            ResNet, the baseline and ablation of TAda.

    Example:

    ```python
    >>> from hf_video import TadaResNetConfig, TadaResNetForVideoClassification
    >>> config = TadaResNetConfig(depth=50, num_labels=51)
    >>> model = TadaResNetForVideoClassification(config)
    ```
    """

    model_type = "tada_resnet"

    def __init__(
        self,
        depth=50,
        num_channels=3,
        stem_width=64,
        stem_kernel_size=7,
        hidden_sizes=None,
        route_kernel_sizes=(3, 3),
        route_reduction=4,
        temporal_pool_kernel_size=3,
        batch_norm_eps=1e-5,
        batch_norm_momentum=0.1,
        classifier_dropout=0.5,
        # The recipe's clip (hf_video.clips.clip_settings.RECIPE), restated because this file ships alone as remote
        # code; tests/test_configuration.py keeps the two equal.
        num_frames=16,
        image_size=112,
        temporal_adaptive=True,
        **kwargs,
    ):
        check_choice("depth", depth, tuple(STAGE_DEPTHS))
        layer_type = "basic" if depth in BASIC_BLOCK_DEPTHS else "bottleneck"
        hidden_sizes = list(DEFAULT_HIDDEN_SIZES[layer_type] if hidden_sizes is None else hidden_sizes)
        route_kernel_sizes = list(route_kernel_sizes)

        for name, value in (("num_channels", num_channels), ("stem_width", stem_width), ("num_frames", num_frames),
                            ("image_size", image_size), ("route_reduction", route_reduction)):
            check_positive_int(name, value)
        check_odd("stem_kernel_size", stem_kernel_size)
        check_odd("temporal_pool_kernel_size", temporal_pool_kernel_size)
        if len(route_kernel_sizes) != 2:
            raise ValueError(
                f"route_kernel_sizes={route_kernel_sizes!r}: expected two odd temporal kernels, e.g. [3, 3]."
            )
        for kernel in route_kernel_sizes:
            check_odd("route_kernel_sizes", kernel)
        if len(hidden_sizes) != 4:
            raise ValueError(f"hidden_sizes={hidden_sizes!r}: expected four stage widths, e.g. [256, 512, 1024, 2048].")
        for width in hidden_sizes:
            check_positive_int("hidden_sizes", width)
            if layer_type == "bottleneck" and width % BOTTLENECK_EXPANSION:
                raise ValueError(
                    f"hidden_sizes={hidden_sizes!r}: with depth {depth} (bottleneck blocks) every stage width must be "
                    f"a multiple of {BOTTLENECK_EXPANSION}; {width} is not."
                )
        tada_widths = [w // BOTTLENECK_EXPANSION for w in hidden_sizes] if layer_type == "bottleneck" else hidden_sizes
        for width in tada_widths:
            if width % route_reduction:
                raise ValueError(
                    f"route_reduction={route_reduction} must divide the width of every TAdaConv2d input "
                    f"({tada_widths}); it does not divide {width}. Use a divisor of all of them, e.g. 1, 2 or 4."
                )
        check_positive_number("batch_norm_eps", batch_norm_eps, 1e-5)
        if not (isinstance(batch_norm_momentum, (int, float)) and 0 < batch_norm_momentum <= 1):
            raise ValueError(f"batch_norm_momentum={batch_norm_momentum!r}: expected a number in (0, 1], e.g. 0.1.")
        check_probability("classifier_dropout", classifier_dropout)
        if not isinstance(temporal_adaptive, bool):
            raise ValueError(f"temporal_adaptive={temporal_adaptive!r}: expected True or False.")

        self.depth = depth
        self.num_channels = num_channels
        self.stem_width = stem_width
        self.stem_kernel_size = stem_kernel_size
        self.hidden_sizes = hidden_sizes
        self.route_kernel_sizes = route_kernel_sizes
        self.route_reduction = route_reduction
        self.temporal_pool_kernel_size = temporal_pool_kernel_size
        self.batch_norm_eps = batch_norm_eps
        self.batch_norm_momentum = batch_norm_momentum
        self.classifier_dropout = classifier_dropout
        self.num_frames = num_frames
        self.image_size = image_size
        self.temporal_adaptive = temporal_adaptive
        check_num_labels(kwargs)
        super().__init__(**kwargs)

    @property
    def layer_type(self) -> str:
        """`"basic"` for depths 18/34, `"bottleneck"` for 50/101/152."""
        return "basic" if self.depth in BASIC_BLOCK_DEPTHS else "bottleneck"

    @property
    def depths(self) -> tuple:
        """Number of blocks in each of the four stages."""
        return STAGE_DEPTHS[self.depth]

    def num_output_frames(self, num_frames: int) -> int:
        """Frames the network works on for a clip of `num_frames`: all of them (TAda2D never strides in time)."""
        return num_frames


__all__ = ["TadaResNetConfig"]
