"""TadaResNetVideoProcessor: the inference-time counterpart of the evaluation transform.

It turns a video (a file path, or decoded frames) into the model's `pixel_values` exactly as evaluation does in
training: the recipe's evaluation clips and views (`hf_video.data.views`), crops and per-channel normalisation
(`hf_video.data.clip_ops`), decoding with our own backends (`hf_video.data.video_io`: PyAV or decord, not
torchcodec). Its settings are the evaluation fields of `ClipSettings`, saved beside the weights as
`video_preprocessor_config.json`, so `pipeline("video-classification", model=folder)` prepares videos the way the
checkpoint expects.
"""

import dataclasses

import numpy as np
import torch
from transformers.feature_extraction_utils import BatchFeature
from transformers.video_processing_utils import BaseVideoProcessor

from ...data.clip_settings import RECIPE, ClipSettings
from ...data.video_io import DEFAULT_VIDEO_BACKEND, check_video_backend, read_frame_list, stream_info
from ...data.views import eval_frame_indices, eval_views

# ClipSettings field -> processor attribute, where transformers' processors have a name of their own.
_ATTRIBUTE_NAMES = {"mean": "image_mean", "std": "image_std"}


class TadaResNetVideoProcessor(BaseVideoProcessor):
    """Video processor for TAda ResNet3D.

    Args:
        num_frames, sample_mode, sample_interval, target_fps, minus_interval: which frames make a clip (see
            `ClipSettings`); the original HMDB51 recipe by default (16 frames, every 4th at 30 fps).
        image_size: side of the square crop given to the model.
        image_mean, image_std: per-channel normalisation.
        eval_crop_fraction: the evaluation crop's side as a fraction of the frame's short side (224/256).
        temporal_crops, spatial_crops: evaluation views per video; with more than one view in all, `pixel_values`
            is (batch, views, frames, channels, height, width), views in `hf_video.data.views` order; the
            classifier then answers once per video with the mean of the views' softmax.
        antialias: smooth the downscaling (the recipe does not).
        video_backend: "pyav" or "decord", for videos given as file paths.
    """

    model_input_names = ["pixel_values"]

    def __init__(self, num_frames: int = RECIPE.num_frames, sample_mode: str = RECIPE.sample_mode,
                 sample_interval: int = RECIPE.sample_interval, target_fps: float = RECIPE.target_fps,
                 minus_interval: bool = RECIPE.minus_interval, image_size: int = RECIPE.image_size,
                 image_mean=RECIPE.mean, image_std=RECIPE.std, eval_crop_fraction: float = RECIPE.eval_crop_fraction,
                 temporal_crops: int = RECIPE.temporal_crops, spatial_crops: int = RECIPE.spatial_crops,
                 antialias: bool = RECIPE.antialias, video_backend: str = DEFAULT_VIDEO_BACKEND, **kwargs):
        # Configurations saved before the rename call the evaluation crop fraction test_crop_fraction.
        eval_crop_fraction = kwargs.pop("test_crop_fraction", eval_crop_fraction)
        super().__init__(**kwargs)
        self.num_frames = num_frames
        self.sample_mode = sample_mode
        self.sample_interval = sample_interval
        self.target_fps = target_fps
        self.minus_interval = minus_interval
        self.image_size = image_size
        self.image_mean = list(image_mean)
        self.image_std = list(image_std)
        self.eval_crop_fraction = eval_crop_fraction
        self.temporal_crops = temporal_crops
        self.spatial_crops = spatial_crops
        self.antialias = antialias
        self.video_backend = check_video_backend(video_backend)
        self.clip_settings()  # validate now, not at the first video

    @classmethod
    def from_clip_settings(cls, settings: ClipSettings, **kwargs) -> "TadaResNetVideoProcessor":
        """The processor that evaluates like `settings` (the training script's data settings)."""
        return cls(**{_ATTRIBUTE_NAMES.get(name, name): value for name, value in settings.eval_fields().items()},
                   **kwargs)

    def clip_settings(self, num_frames: int | None = None) -> ClipSettings:
        """The `ClipSettings` this processor evaluates with (`num_frames` overriding its own)."""
        fields = {name: getattr(self, _ATTRIBUTE_NAMES.get(name, name)) for name in ClipSettings.eval_field_names()}
        fields.update(mean=tuple(fields["mean"]), std=tuple(fields["std"]))
        if num_frames is not None:
            fields["num_frames"] = num_frames
        return ClipSettings(**fields)

    def preprocess(self, videos, num_frames: int | None = None, do_sample_frames: bool = True,
                   return_tensors=None, **kwargs) -> BatchFeature:
        """Prepare one video or a list of them.

        Args:
            videos: a file path, a uint8 array or tensor of frames (T, H, W, 3) (or (T, 3, H, W)), or a list of these.
            num_frames: frames per clip, overriding the saved setting (the pipeline passes the model's).
            do_sample_frames: for decoded frames, False takes them as the clip as they are; paths are always sampled.
            return_tensors: "pt" (tensors are always returned).
        """
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(kwargs)}.")
        if return_tensors not in (None, "pt"):
            raise ValueError(f"return_tensors={return_tensors!r}: this processor returns PyTorch tensors ('pt').")
        settings = self.clip_settings(num_frames)
        batch = videos if isinstance(videos, (list, tuple)) else [videos]
        pixel_values = torch.stack([self._video_views(video, settings, do_sample_frames) for video in batch])
        return BatchFeature(data={"pixel_values": pixel_values}, tensor_type="pt")

    def _video_views(self, video, settings: ClipSettings, do_sample_frames: bool) -> torch.Tensor:
        if isinstance(video, str):
            info = stream_info(video)
            frames = read_frame_list(video, eval_frame_indices(settings, info.num_frames, info.fps),
                                     self.video_backend)
            return eval_views(frames, settings)
        frames = _as_uint8_frames(video)
        if not do_sample_frames:
            return eval_views(frames, dataclasses.replace(settings, num_frames=len(frames), temporal_crops=1))
        # Decoded frames carry no frame rate: take them as filmed at the target rate.
        return eval_views(frames[eval_frame_indices(settings, len(frames), settings.target_fps)], settings)


def _as_uint8_frames(video) -> torch.Tensor:
    frames = torch.as_tensor(np.asarray(video)) if not isinstance(video, torch.Tensor) else video
    if frames.dim() == 4 and frames.shape[1] == 3 and frames.shape[-1] != 3:
        frames = frames.permute(0, 2, 3, 1)  # (T, 3, H, W) -> (T, H, W, 3)
    if frames.dim() != 4 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
        raise ValueError(f"expected a video path or uint8 frames (T, H, W, 3); got {frames.dtype} "
                         f"{tuple(frames.shape)}.")
    return frames.contiguous()
