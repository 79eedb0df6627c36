"""Configuration of TAdaFormer ("Temporally-Adaptive Models for Efficient Video Understanding", TAdaConvV2): CLIP's
image encoder with TAda blocks."""

from transformers import PreTrainedConfig

from .config_checks import check_num_labels, check_odd, check_positive_int, check_positive_number, check_probability

# CLIP's normalisation of its input images, which TAdaFormer keeps (the authors' and a model started from CLIP).
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


class TadaFormerConfig(PreTrainedConfig):
    r"""
    Configuration of a [`TadaFormerModel`] / [`TadaFormerForVideoClassification`]: a CLIP vision transformer run on
    the frames of a tubelet embedding, with a TAda block before each layer's attention. The defaults give TAdaFormer-
    B/16 as the authors release it for Kinetics-400 (alibaba-mmai-research/TAdaConv), for 16-frame 224x224 clips.

    Architecture: a Conv3d patch embedding (kernel `tubelet_size` x `patch_size` x `patch_size`, stride
    `tubelet_stride` x `patch_size` x `patch_size`, zero-padded in time by `tubelet_size // 2`), a class token and
    spatial position embeddings per frame, LayerNorm, then CLIP layers each of which first adds a TAda block to the
    patch tokens (not the class token): Linear down to hidden_size / `tada_reduction` -> depthwise 3x3 TAdaConv (its
    own route function, calibrating weight and bias) -> temporal aggregation `BN(y) + BN'(avgpool_time(y))` ->
    QuickGELU -> Linear up, which starts at zero. The pooled output is LayerNorm of the class token averaged over
    frames.

    Args:
        num_channels (`int`, *optional*, defaults to 3):
            Channels of the input frames.
        image_size (`int`, *optional*, defaults to 224):
            Side of the square frames the position embeddings are made for (other sizes need
            `interpolate_pos_encoding=True`).
        patch_size (`int`, *optional*, defaults to 16):
            Side of the square patches (B/16: 16; L/14: 14).
        tubelet_size (`int`, *optional*, defaults to 3):
            Temporal kernel of the patch embedding (zero-padded by `tubelet_size // 2` frames at each end, as the
            authors').
        tubelet_stride (`int`, *optional*, defaults to 2):
            Temporal stride of the patch embedding: a clip of T frames becomes (T - 1) // stride + 1 in the network.
        hidden_size (`int`, *optional*, defaults to 768):
            Width of the transformer (B: 768; L: 1024).
        num_hidden_layers (`int`, *optional*, defaults to 12):
            Layers (B: 12; L: 24).
        num_attention_heads (`int`, *optional*, defaults to 12):
            Attention heads per layer (B: 12; L: 16); must divide `hidden_size`.
        intermediate_size (`int`, *optional*, defaults to 3072):
            Width of each layer's MLP.
        hidden_act (`str`, *optional*, defaults to `"quick_gelu"`):
            Activation of the MLPs: CLIP's and the authors' `"quick_gelu"`, or another transformers activation.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of the transformer's LayerNorms.
        attention_dropout (`float`, *optional*, defaults to 0.0):
            Dropout of the attention probabilities.
        tada_reduction (`int`, *optional*, defaults to 2):
            The TAda blocks work on hidden_size / `tada_reduction` channels.
        route_reduction (`int`, *optional*, defaults to 2):
            Channel reduction inside the route functions.
        route_kernel_sizes (`list[int]`, *optional*, defaults to `[3, 3]`):
            Temporal kernels (odd) of the route function's two convolutions.
        route_head_dim (`int`, *optional*, defaults to 64):
            Channels per attention head in the route functions (the authors' code always uses 64); must divide the
            route width, hidden_size / `tada_reduction` / `route_reduction`.
        bias_calibration (`bool`, *optional*, defaults to `True`):
            Calibrate the TAda convolutions' bias as well as their weight (the authors' models do).
        temporal_pool_kernel_size (`int`, *optional*, defaults to 3):
            Temporal kernel (odd) of the average pool in the temporal aggregation.
        batch_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of the temporal aggregation's BatchNorms.
        temporal_enhance (`bool`, *optional*, defaults to `False`):
            The TAda block's down projection is a temporal convolution (kernel 3 over frames, per patch) instead of a
            Linear (the authors' SSv2 models).
        double_tada (`bool`, *optional*, defaults to `False`):
            A second TAda block after each layer's attention (the authors' SSv2 models).
        temporal_adaptive (`bool`, *optional*, defaults to `True`):
            `False` leaves out the TAda blocks: CLIP run on each frame of the tubelet embedding, the 2D twin.
        projection_dim (`int`, *optional*):
            A linear projection (no bias) of the pooled output before the classifier, as the authors'
            `REQUIRE_PROJ`; none by default, as in their released models.
        drop_path_rate (`float`, *optional*, defaults to 0.0):
            Stochastic depth of the last layer (rising linearly from 0 at the first); a dropped branch is dropped for
            a whole clip.
        classifier_dropout (`float`, *optional*, defaults to 0.5):
            Dropout before the classification layer.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the truncated normal initialisation of linear and convolution weights.
        num_frames (`int`, *optional*, defaults to 16):
            Frames per clip the model expects (used by processors and pipelines; the network accepts any length).

    Example:

    ```python
    >>> from hf_video import TadaFormerConfig, TadaFormerForVideoClassification
    >>> config = TadaFormerConfig(num_labels=51)  # TAdaFormer-B/16
    >>> model = TadaFormerForVideoClassification(config)
    ```
    """

    model_type = "tadaformer"

    def __init__(
        self,
        num_channels=3,
        image_size=224,
        patch_size=16,
        tubelet_size=3,
        tubelet_stride=2,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
        attention_dropout=0.0,
        tada_reduction=2,
        route_reduction=2,
        route_kernel_sizes=(3, 3),
        route_head_dim=64,
        bias_calibration=True,
        temporal_pool_kernel_size=3,
        batch_norm_eps=1e-5,
        temporal_enhance=False,
        double_tada=False,
        temporal_adaptive=True,
        projection_dim=None,
        drop_path_rate=0.0,
        classifier_dropout=0.5,
        initializer_range=0.02,
        num_frames=16,
        **kwargs,
    ):
        route_kernel_sizes = list(route_kernel_sizes)
        for name, value in (("num_channels", num_channels), ("image_size", image_size), ("patch_size", patch_size),
                            ("tubelet_stride", tubelet_stride), ("hidden_size", hidden_size),
                            ("num_hidden_layers", num_hidden_layers), ("num_attention_heads", num_attention_heads),
                            ("intermediate_size", intermediate_size), ("tada_reduction", tada_reduction),
                            ("route_reduction", route_reduction), ("route_head_dim", route_head_dim),
                            ("num_frames", num_frames), ("tubelet_size", tubelet_size)):
            check_positive_int(name, value)
        check_odd("temporal_pool_kernel_size", temporal_pool_kernel_size)
        if len(route_kernel_sizes) != 2:
            raise ValueError(f"route_kernel_sizes={route_kernel_sizes!r}: expected two odd temporal kernels, e.g. "
                             "[3, 3].")
        for kernel in route_kernel_sizes:
            check_odd("route_kernel_sizes", kernel)
        if hidden_size % num_attention_heads:
            raise ValueError(f"hidden_size={hidden_size} is not a whole number of num_attention_heads="
                             f"{num_attention_heads} heads.")
        if image_size % patch_size:
            raise ValueError(f"image_size={image_size} is not a whole number of patch_size={patch_size} patches.")
        for name, value in (("bias_calibration", bias_calibration), ("temporal_enhance", temporal_enhance),
                            ("double_tada", double_tada), ("temporal_adaptive", temporal_adaptive)):
            if not isinstance(value, bool):
                raise ValueError(f"{name}={value!r}: expected True or False.")
        if temporal_adaptive:
            tada_width = hidden_size // tada_reduction
            if hidden_size % tada_reduction or tada_width % route_reduction or (
                    tada_width // route_reduction) % route_head_dim:
                raise ValueError(
                    f"hidden_size={hidden_size}, tada_reduction={tada_reduction}, route_reduction={route_reduction}, "
                    f"route_head_dim={route_head_dim}: the route width hidden_size / tada_reduction / route_reduction "
                    "must be a whole number of attention heads of route_head_dim channels.")
        if projection_dim is not None:
            check_positive_int("projection_dim", projection_dim)
        check_positive_number("layer_norm_eps", layer_norm_eps, 1e-5)
        check_positive_number("batch_norm_eps", batch_norm_eps, 1e-5)
        check_positive_number("initializer_range", initializer_range, 0.02)
        check_probability("attention_dropout", attention_dropout)
        check_probability("drop_path_rate", drop_path_rate)
        check_probability("classifier_dropout", classifier_dropout)

        self.num_channels = num_channels
        self.image_size = image_size
        self.patch_size = patch_size
        self.tubelet_size = tubelet_size
        self.tubelet_stride = tubelet_stride
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.attention_dropout = attention_dropout
        self.tada_reduction = tada_reduction
        self.route_reduction = route_reduction
        self.route_kernel_sizes = route_kernel_sizes
        self.route_head_dim = route_head_dim
        self.bias_calibration = bias_calibration
        self.temporal_pool_kernel_size = temporal_pool_kernel_size
        self.batch_norm_eps = batch_norm_eps
        self.temporal_enhance = temporal_enhance
        self.double_tada = double_tada
        self.temporal_adaptive = temporal_adaptive
        self.projection_dim = projection_dim
        self.drop_path_rate = drop_path_rate
        self.classifier_dropout = classifier_dropout
        self.initializer_range = initializer_range
        self.num_frames = num_frames
        check_num_labels(kwargs)
        super().__init__(**kwargs)

    def num_output_frames(self, num_frames: int) -> int:
        """Frames the network works on for a clip of `num_frames` (the tubelet's temporal stride takes some away)."""
        padding = self.tubelet_size // 2
        return (num_frames + 2 * padding - self.tubelet_size) // self.tubelet_stride + 1


__all__ = ["TadaFormerConfig"]
