"""`ClipSettings`: how a clip is cut from a video and prepared for the model. Its defaults are the original recipe
(EssentialMC2's HMDB51 fine-tune of TAda2D), and this module is the one place that states them: the transforms, the
video processor, the training script, the converter and the examples all take their defaults from here.
"""

import dataclasses
import math
from dataclasses import dataclass, field

# The recipe's RandomResizedCropVideo: crops of 168^2 to 224^2 pixels out of 256x340 frames, aspect 6/7 to 7/6.
RECIPE_CROP_SCALE = (168**2 / (256 * 340), 224**2 / (256 * 340))
RECIPE_CROP_RATIO = (6 / 7, 7 / 6)
# The recipe's evaluation crop: a square of side min(H, W) * 224 / 256, resized to the model's input.
RECIPE_EVAL_CROP_FRACTION = 224 / 256
RECIPE_MEAN = (0.45, 0.45, 0.45)
RECIPE_STD = (0.225, 0.225, 0.225)

# Marks the fields that describe evaluation (saved with a video processor); the others concern training only.
_EVAL = {"eval": True}


@dataclass(frozen=True)
class ClipSettings:
    """How a clip is cut from a video and prepared for the model; the original HMDB51 recipe by default.

    Shared by the dataset transform, the video processor, the training script and the benchmarks.
    Evaluation takes `temporal_crops` x `spatial_crops` views of each video (see `hf_video.clips.views`).
    """

    num_frames: int = field(default=16, metadata=_EVAL)
    sample_mode: str = field(default="interval", metadata=_EVAL)  # "interval" or "segment"
    sample_interval: int = field(default=4, metadata=_EVAL)
    target_fps: float = field(default=30, metadata=_EVAL)
    minus_interval: bool = field(default=False, metadata=_EVAL)
    image_size: int = field(default=112, metadata=_EVAL)
    mean: tuple = field(default=RECIPE_MEAN, metadata=_EVAL)
    std: tuple = field(default=RECIPE_STD, metadata=_EVAL)
    crop_scale: tuple = RECIPE_CROP_SCALE
    crop_ratio: tuple = RECIPE_CROP_RATIO
    flip_probability: float = 0.5
    eval_crop_fraction: float = field(default=RECIPE_EVAL_CROP_FRACTION, metadata=_EVAL)
    temporal_crops: int = field(default=1, metadata=_EVAL)
    spatial_crops: int = field(default=1, metadata=_EVAL)
    # The recipe resizes with plain bilinear interpolation (no antialiasing), and so do we by default, so that
    # converted checkpoints see the pixels they were trained and evaluated on. True: smoother downscaling.
    antialias: bool = field(default=False, metadata=_EVAL)

    def __post_init__(self):
        if self.sample_mode not in ("interval", "segment"):
            raise ValueError(f"sample_mode={self.sample_mode!r}: expected 'interval' or 'segment'.")
        if self.spatial_crops not in (1, 3):
            raise ValueError(f"spatial_crops={self.spatial_crops!r}: expected 1 (centre) or 3 (left, centre, right).")
        for name in ("num_frames", "sample_interval", "image_size", "temporal_crops"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}: expected a positive integer.")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if not isinstance(values, (tuple, list)) or len(values) != 3 or not all(
                    isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                    for value in values):
                raise ValueError(f"{name}={values!r}: expected three numbers, one per RGB channel.")
        if min(self.std) <= 0:
            raise ValueError(f"std={self.std!r}: every channel's std must be positive (pixels are divided by it).")
        if not 0 <= self.flip_probability <= 1:
            raise ValueError(f"flip_probability={self.flip_probability!r}: expected a probability, 0 to 1.")

    @classmethod
    def eval_field_names(cls) -> tuple:
        """The fields that describe evaluation, in declaration order (the training-only crop scale, crop ratio and
        flip are left out)."""
        return tuple(setting.name for setting in dataclasses.fields(cls) if setting.metadata.get("eval"))

    def eval_fields(self) -> dict:
        """{name: value} of the evaluation fields."""
        return {name: getattr(self, name) for name in self.eval_field_names()}


# The original recipe, whole: read its defaults from here (`RECIPE.num_frames`, ...).
RECIPE = ClipSettings()
