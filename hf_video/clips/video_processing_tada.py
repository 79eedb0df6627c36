"""TadaVideoProcessor: the video processor of the TAda family, the inference-time counterpart of the evaluation
transform, on transformers' own path. It is a function of the clip settings, not of one model: every checkpoint saves
its own (frames, sampling, size, mean and std, views). `TadaResNetVideoProcessor`, its name before the family had more
than one model, is a subclass with nothing of its own, so that folders saved under that name load.

It is a `BaseVideoProcessor` that overrides the base class's hooks, so every standard argument of transformers'
video processors works (videos as paths, arrays, tensors or lists of PIL frames, nested batches, channels first or
last, RGBA, `do_sample_frames`, `num_frames`, `fps`, `video_metadata`, `return_metadata`, `image_mean` /
`image_std`, `device`, `return_tensors`):

- `fetch_videos` decodes files (and http(s) URLs, read into memory within a deadline and a size cap) with our
  exact decoders (`video_io`: PyAV or decord, not torchcodec);
- `sample_frames` picks the recipe's evaluation clips (`views.eval_frame_indices`);
- `_preprocess` cuts the recipe's evaluation views (`views.eval_views`: crop, resize, normalise), on the device
  the frames are on.

Its output equals `VideoClipTransform(train=False)` on the same video. Its settings are the evaluation fields of
`ClipSettings`, saved beside the weights as `video_preprocessor_config.json`.

This file and the modules it imports (all siblings, imported relatively) are copied into every saved folder, so
`AutoVideoProcessor` and the pipeline work with `trust_remote_code=True` where hf_video is not installed. Keep it
that way: import only siblings, torch, torchvision, numpy and transformers here (decoders lazily).
"""

import copy
import dataclasses
import os
import socket
import time
import urllib.error
import urllib.request

import numpy as np
import torch
from PIL import Image
from transformers.feature_extraction_utils import BatchFeature
from transformers.image_utils import infer_channel_dimension_format
from transformers.processing_utils import VideosKwargs
from transformers.video_processing_utils import BaseVideoProcessor
from transformers.video_utils import VideoMetadata

from .clip_settings import RECIPE, ClipSettings
from .video_io import DEFAULT_VIDEO_BACKEND, InMemoryVideo, check_video_backend, read_frame_list, stream_info
from .views import eval_frame_indices, eval_views

# ClipSettings field -> processor attribute, where transformers' processors have a name of their own.
_ATTRIBUTE_NAMES = {"mean": "image_mean", "std": "image_std"}
# transformers' generic geometry, which the recipe replaces by image_size and eval_crop_fraction (crop first, then
# resize, as the original evaluates): refused rather than ignored.
_GEOMETRY_ARGUMENTS = ("size", "crop_size", "do_resize", "do_center_crop", "resample", "do_pad", "pad_size")


class TadaVideoProcessorKwargs(VideosKwargs, total=False):
    """The recipe's evaluation settings (see `ClipSettings`), on top of transformers' video arguments."""

    sample_mode: str
    sample_interval: int
    target_fps: float
    minus_interval: bool
    image_size: int
    eval_crop_fraction: float
    temporal_crops: int
    spatial_crops: int
    antialias: bool
    video_backend: str
    download_timeout: float | int
    max_download_bytes: int


class TadaVideoProcessor(BaseVideoProcessor):
    """Video processor for the TAda models.

    Args:
        num_frames, sample_mode, sample_interval, target_fps, minus_interval: which frames make a clip (see
            `ClipSettings`); the original HMDB51 recipe by default (16 frames, every 4th at 30 fps).
        image_size: side of the square crop given to the model.
        image_mean, image_std: per-channel normalisation.
        eval_crop_fraction: the evaluation crop's side as a fraction of the frame's short side (224/256).
        temporal_crops, spatial_crops: evaluation views per video; with more than one view in all, `pixel_values`
            is (batch, views, frames, channels, height, width), views in `hf_video.clips.views` order; the
            classifier then answers once per video with the mean of the views' softmax.
        antialias: smooth the downscaling (the recipe does not).
        video_backend: "pyav" or "decord", for videos given as file paths.
        download_timeout, max_download_bytes: limits of a video given as an http(s) URL (read into memory): the
            whole download's seconds (300) and bytes (1 GiB). Other addresses (ftp://, tcp:, ...) are refused.
        do_sample_frames: True (default) takes the recipe's clips from each video; False takes the given frames as
            the clip(s) as they are (with `temporal_crops=k`, k clips of equal length one after the other).

    Videos given as decoded frames carry no frame rate: they are taken as filmed at `target_fps` unless
    `video_metadata` says otherwise. Frames must be uint8; they are never cast.
    """

    valid_kwargs = TadaVideoProcessorKwargs
    model_input_names = ["pixel_values"]
    num_frames = RECIPE.num_frames
    sample_mode = RECIPE.sample_mode
    sample_interval = RECIPE.sample_interval
    target_fps = RECIPE.target_fps
    minus_interval = RECIPE.minus_interval
    image_size = RECIPE.image_size
    image_mean = list(RECIPE.mean)
    image_std = list(RECIPE.std)
    eval_crop_fraction = RECIPE.eval_crop_fraction
    temporal_crops = RECIPE.temporal_crops
    spatial_crops = RECIPE.spatial_crops
    antialias = RECIPE.antialias
    video_backend = DEFAULT_VIDEO_BACKEND
    download_timeout = 300.0
    max_download_bytes = 2**30
    do_sample_frames = True
    do_convert_rgb = True
    do_rescale = True
    rescale_factor = 1 / 255
    do_normalize = True

    def __init__(self, **kwargs):
        # Configurations saved before the rename call the evaluation crop fraction test_crop_fraction.
        if "test_crop_fraction" in kwargs:
            kwargs.setdefault("eval_crop_fraction", kwargs.pop("test_crop_fraction"))
        _refuse_generic_geometry(kwargs)
        super().__init__(**kwargs)
        # Lists, as transformers' processors save them (their defaults are tuples after standardisation).
        self.image_mean, self.image_std = list(self.image_mean), list(self.image_std)
        self._check_reading_settings()
        self.clip_settings()  # validate now, not at the first video

    def _check_reading_settings(self) -> None:
        self.video_backend = check_video_backend(self.video_backend)
        timeout, max_bytes = self.download_timeout, self.max_download_bytes
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
            raise ValueError(f"download_timeout={timeout!r}: expected the seconds a URL's download may take in all, a "
                             "positive number.")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_download_bytes={max_bytes!r}: expected the most bytes a URL's download may have, "
                             "a positive whole number.")
        self.download_timeout = float(timeout)

    @classmethod
    def from_clip_settings(cls, settings: ClipSettings, **kwargs) -> "TadaVideoProcessor":
        """The processor that evaluates like `settings` (the training script's data settings)."""
        return cls(**{_ATTRIBUTE_NAMES.get(name, name): value for name, value in settings.eval_fields().items()},
                   **kwargs)

    def clip_settings(self, num_frames: int | None = None, **overrides) -> ClipSettings:
        """The `ClipSettings` this processor evaluates with; `num_frames` and processor arguments given as
        `overrides` (e.g. a call's `image_mean`) replace its own."""
        fields = {}
        for name in ClipSettings.eval_field_names():
            attribute = _ATTRIBUTE_NAMES.get(name, name)
            value = overrides.get(attribute)
            fields[name] = getattr(self, attribute) if value is None else value
        fields["mean"], fields["std"] = (_per_channel(fields[name], name) for name in ("mean", "std"))
        if num_frames is not None:
            fields["num_frames"] = num_frames
        return ClipSettings(**fields)

    def preprocess(self, videos, **kwargs) -> BatchFeature:
        """Prepare one video or a batch, as every transformers video processor does (see the class docstring)."""
        _refuse_generic_geometry(kwargs)
        # fetch_videos reads the processor's own settings: a copy decodes and downloads with those of this call.
        reading = {name: kwargs.pop(name) for name in _READING_ARGUMENTS if kwargs.get(name) is not None}
        if reading:
            processor = copy.copy(self)
            for name, value in reading.items():
                setattr(processor, name, value)
            processor._check_reading_settings()
            return processor.preprocess(videos, **kwargs)
        _check_videos(videos)
        if kwargs.get("fps") is not None:
            # `fps` and `num_frames` exclude each other: a call's fps replaces the saved clip length.
            kwargs.setdefault("num_frames", None)
        return super().preprocess(videos, **kwargs)

    def sample_frames(self, metadata: VideoMetadata, num_frames: int | None = None, fps: float | None = None,
                      **kwargs) -> np.ndarray:
        """Frame indices of the recipe's evaluation clips (`views.eval_frame_indices`), one clip after the other.

        `num_frames` replaces the clip length; `fps` instead takes that many frames per second of video, spread
        evenly (segment sampling), which needs the video's frame rate in `metadata`. Asking for more frames than the
        video has is an error: pass fewer, or `do_sample_frames=False` to take the frames as they are.
        """
        if num_frames is not None and fps is not None:
            raise ValueError(f"num_frames={num_frames} and fps={fps} exclude each other: pass one of them.")
        total, video_fps = metadata["total_num_frames"], metadata["fps"]
        settings = self.clip_settings(num_frames, **kwargs)
        if fps is not None:
            if not video_fps:
                raise ValueError(f"fps={fps} samples frames per second of video, which needs the video's frame rate: "
                                 f"pass video_metadata with 'fps' (got {dict(metadata)}).")
            count = int(total / video_fps * fps)
            if count < 1:
                raise ValueError(f"fps={fps} gives no frame from {total} frames at {video_fps} fps: pass a higher fps.")
            settings = dataclasses.replace(settings, sample_mode="segment", num_frames=count)
        if settings.num_frames > total:
            raise ValueError(f"asked for {settings.num_frames} frames per clip from a video of {total} frames: pass "
                             f"num_frames <= {total}, or do_sample_frames=False to take the frames as they are.")
        return np.array(eval_frame_indices(settings, total, video_fps or settings.target_fps))

    def fetch_videos(self, video_url_or_urls, sample_indices_fn=None):
        """Decode video files with our exact decoders: (frames (T, H, W, 3) uint8, `VideoMetadata`), or a pair of
        lists for a list of paths. Only the sampled frames are decoded."""
        if isinstance(video_url_or_urls, (list, tuple)):
            return tuple(map(list, zip(*[self.fetch_videos(path, sample_indices_fn) for path in video_url_or_urls])))
        path = video_url_or_urls if isinstance(video_url_or_urls, InMemoryVideo) else os.fspath(video_url_or_urls)
        if isinstance(path, str) and path.lower().startswith(("http://", "https://")):
            path = _download(path, self.download_timeout, self.max_download_bytes)
        info = stream_info(path)  # any other address is refused there, before FFmpeg sees it
        metadata = VideoMetadata(total_num_frames=info.num_frames, fps=info.fps, width=info.width,
                                 height=info.height, duration=info.num_frames / info.fps,
                                 video_backend=self.video_backend)
        indices = range(info.num_frames) if sample_indices_fn is None else sample_indices_fn(metadata=metadata)
        metadata.frames_indices = [int(index) for index in indices]
        # The packet list stream_info gathered spares the read its own pass over the file.
        frames = read_frame_list(path, metadata.frames_indices, self.video_backend, num_frames=info.num_frames,
                                 packets=info.packets)
        return torch.from_numpy(np.stack(frames)), metadata

    def convert_to_rgb(self, video: torch.Tensor) -> torch.Tensor:
        """Grey frames repeated, RGBA frames composited over white (transformers' conversion), rounded back to
        uint8 as PIL composites: (T, 3, H, W) uint8."""
        rgb = super().convert_to_rgb(video)
        if video.dtype != torch.uint8 or rgb.dtype == torch.uint8:
            return rgb  # other dtypes are refused afterwards, never cast
        return rgb.round().clamp_(0, 255).to(torch.uint8)

    def _prepare_input_videos(self, videos, input_data_format=None, **kwargs) -> list:
        if input_data_format is not None:
            return super()._prepare_input_videos(videos, input_data_format=input_data_format, **kwargs)
        # The base class infers the first video's layout and applies it to all, and knows no RGBA: infer each
        # video's own, with 1, 3 or 4 channels.
        prepare = super()._prepare_input_videos
        return [prepared for video in videos for prepared in prepare(
            [video], input_data_format=infer_channel_dimension_format(video, num_channels=(1, 3, 4)), **kwargs)]

    def _preprocess(self, videos: list, return_tensors=None, do_convert_rgb: bool | None = None,
                    do_rescale: bool | None = None, rescale_factor: float | None = None,
                    do_normalize: bool | None = None, **kwargs) -> BatchFeature:
        """The recipe's evaluation views of each video; `videos` are uint8 (T, C, H, W), on any device."""
        _refuse_generic_geometry(kwargs)
        if not do_rescale or rescale_factor != 1 / 255:
            raise ValueError(f"do_rescale={do_rescale}, rescale_factor={rescale_factor}: the recipe scales uint8 "
                             f"frames by 1/255; for pixels in [0, 1], pass do_normalize=False instead.")
        if not do_normalize:
            kwargs.update(image_mean=0.0, image_std=1.0)
        kwargs.pop("num_frames", None)  # sampling is done: the clip length is the frames' count
        settings = self.clip_settings(**kwargs)
        pixel_values = []
        for video in videos:
            if video.dtype != torch.uint8:
                raise ValueError(f"expected uint8 frames; got {video.dtype} {tuple(video.shape)}. Convert them "
                                 f"yourself (frames are never cast here).")
            if do_convert_rgb and video.shape[1] != 3:
                video = self.convert_to_rgb(video)
            if video.shape[1] != 3:
                raise ValueError(f"expected 3 colour channels; got a video of shape {tuple(video.shape)}. Pass "
                                 f"do_convert_rgb=True for grey or RGBA frames.")
            clips = settings.temporal_crops
            if len(video) % clips:
                raise ValueError(f"{len(video)} frames cannot make {clips} temporal clips of equal length.")
            frames = video.permute(0, 2, 3, 1).contiguous()  # channels last, as the decoders give frames
            pixel_values.append(eval_views(frames, dataclasses.replace(settings, num_frames=len(video) // clips)))
        shapes = sorted({tuple(values.shape) for values in pixel_values})
        if len(shapes) > 1:
            raise ValueError(f"the videos give clips of different shapes {shapes} (different frame counts with "
                             f"do_sample_frames=False): process them one by one, or sample the same number of frames.")
        return BatchFeature(data={"pixel_values": torch.stack(pixel_values)}, tensor_type=return_tensors)


# Arguments of a call that change how its videos are read, not how clips are made of them.
_READING_ARGUMENTS = ("video_backend", "download_timeout", "max_download_bytes")


def _download(url: str, timeout: float, max_bytes: int) -> InMemoryVideo:
    """The video at `url` in memory, named by its URL in every message; at most `max_bytes`, within `timeout`
    seconds in all (a server that trickles a byte at a time does not hold the call forever)."""
    deadline = time.monotonic() + timeout
    chunks, received = [], 0
    try:
        with urllib.request.urlopen(url, timeout=min(timeout, 60)) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise ValueError(f"{url}: the video has {int(length):,} bytes, more than max_download_bytes="
                                 f"{max_bytes:,}; raise that limit to read it.")
            while chunk := response.read1(2**20):  # what has arrived, so that the deadline is checked in between
                received += len(chunk)
                if received > max_bytes:
                    raise ValueError(f"{url}: more than max_download_bytes={max_bytes:,} bytes; raise that limit to "
                                     "read it.")
                if time.monotonic() > deadline:
                    raise ValueError(f"{url}: the download took longer than download_timeout={timeout:g} s "
                                     f"({received:,} bytes received); raise that limit to read it.")
                chunks.append(chunk)
    except (TimeoutError, socket.timeout) as error:
        raise ValueError(f"{url}: the server did not answer within download_timeout={timeout:g} s ({received:,} bytes "
                         "received); raise that limit to wait longer.") from error
    except (urllib.error.URLError, OSError) as error:
        if isinstance(getattr(error, "reason", None), (TimeoutError, socket.timeout)):
            raise ValueError(f"{url}: the server did not answer within download_timeout={timeout:g} s; raise that "
                             "limit to wait longer.") from error
        raise ValueError(f"{url}: the video could not be downloaded ({error}).") from error
    return InMemoryVideo(b"".join(chunks), url)


def _check_videos(videos, where: str = "videos") -> None:
    """Name what transformers' own checks would fail on without saying why: an empty list, frames without a channel
    axis, PIL frames that are not colour, frames of different sizes within a video."""
    if isinstance(videos, (str, os.PathLike, InMemoryVideo)):
        return
    if isinstance(videos, (np.ndarray, torch.Tensor)):
        if videos.ndim == 3 and videos.shape[0] not in (1, 3, 4) and videos.shape[-1] not in (1, 3, 4):
            raise ValueError(f"{where} has shape {tuple(videos.shape)}: a video is (frames, height, width, channels) "
                             "or (frames, channels, height, width); grey frames need their channel axis "
                             "(video[..., None]).")
        if videos.ndim in (4, 5) and 0 in videos.shape:
            raise ValueError(f"{where} has shape {tuple(videos.shape)}: an empty video.")
        if videos.ndim in (4, 5) and videos.shape[-1] not in (1, 3, 4) and videos.shape[-3] not in (1, 3, 4):
            raise ValueError(f"{where} has shape {tuple(videos.shape)}: neither axis -1 ({videos.shape[-1]}) nor -3 "
                             f"({videos.shape[-3]}) holds 1 (grey), 3 (RGB) or 4 (RGBA) channels; frames of other "
                             "channel counts (2: grey with alpha) are not colour: convert them first.")
        return
    if not isinstance(videos, (list, tuple)):
        return
    if not videos:
        raise ValueError(f"{where} is an empty list: pass a video (a path, frames) or a list of them.")
    if all(isinstance(frame, Image.Image) for frame in videos):  # the frames of one video
        modes = sorted({frame.mode for frame in videos} - {"RGB", "RGBA"})
        if modes:
            raise ValueError(f"{where}: PIL frames in mode {', '.join(modes)}; convert them to colour first "
                             "([frame.convert('RGB') for frame in frames]).")
        _check_one_size(where, {frame.size[::-1] for frame in videos})
    elif all(isinstance(frame, (np.ndarray, torch.Tensor)) and frame.ndim <= 3 for frame in videos):
        if any(frame.ndim < 3 for frame in videos):
            raise ValueError(f"{where}: frames of shape {tuple(videos[0].shape)} have no channel axis; grey frames "
                             "need one (frame[..., None]).")
        _check_one_size(where, {tuple(frame.shape) for frame in videos})
        _check_videos(videos[0][None], f"{where}[0]")  # the channels, as a one-frame video
    else:
        for index, video in enumerate(videos):
            _check_videos(video, f"{where}[{index}]")


def _check_one_size(where: str, shapes: set) -> None:
    if len(shapes) > 1:
        raise ValueError(f"{where}: frames of different sizes {', '.join(map(str, sorted(shapes)))} in one video; "
                         "resize them to one size first.")


def _per_channel(values, name: str) -> tuple:
    """A mean or std as a 3-tuple (transformers also accepts one number for all channels)."""
    values = tuple(values) if isinstance(values, (list, tuple)) else (values,) * 3
    if len(values) != 3:
        raise ValueError(f"{name}={values}: expected one value per RGB channel, or a single number.")
    return tuple(float(value) for value in values)


def _refuse_generic_geometry(arguments: dict) -> None:
    given = {name: arguments[name] for name in _GEOMETRY_ARGUMENTS if arguments.get(name) is not None}
    if given:
        raise ValueError(f"{given}: TadaVideoProcessor crops and resizes as the recipe evaluates (a square of "
                         f"eval_crop_fraction x the short side, resized to image_size); set image_size, "
                         f"eval_crop_fraction or antialias instead.")


class TadaResNetVideoProcessor(TadaVideoProcessor):
    """`TadaVideoProcessor` under its name before the family had more than one model: folders saved then name it
    (`video_processor_type`), and transformers finds a class by that name. Nothing of its own."""


# Saved folders carry this file and its sibling modules, so they load with `trust_remote_code=True` anywhere.
TadaVideoProcessor.register_for_auto_class()
TadaResNetVideoProcessor.register_for_auto_class()
