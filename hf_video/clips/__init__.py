"""Clips: from a video file to model-ready clips. Decoding (`video_io`: exact frames or a named error), the clip
settings and the recipe's defaults (`clip_settings`), frame sampling (`sampling`), evaluation views (`views`), crops
(`clip_ops`), the `set_transform` callable (`clip_transform`), batching (`collate`, `device_augmentation`) and the
family's video processor (`video_processing_tada`).

Nothing here imports the rest of hf_video, so the video processor's remote-code folder is a copy of modules of this
package only. No video decoder is imported before a video is opened, and the processor (which needs torchvision) only
when it is asked for.
"""

from .clip_settings import RECIPE, ClipSettings
from .clip_transform import VideoClipTransform
from .collate import collate_clips
from .device_augmentation import DeviceAugmentation, collate_crops, move_batch
from .video_io import (DEFAULT_VIDEO_BACKEND, VIDEO_BACKENDS, InMemoryVideo, VideoDecodeError, probe_video,
                       read_frame_list, read_frames, stream_info)
from .views import eval_view_index, eval_view_position, num_eval_views

_PROCESSORS = ("TadaVideoProcessor", "TadaResNetVideoProcessor")

__all__ = ["DEFAULT_VIDEO_BACKEND", "RECIPE", "VIDEO_BACKENDS", "ClipSettings", "DeviceAugmentation", "InMemoryVideo",
           "TadaResNetVideoProcessor", "TadaVideoProcessor", "VideoClipTransform", "VideoDecodeError", "collate_clips",
           "collate_crops", "eval_view_index", "eval_view_position", "move_batch", "num_eval_views", "probe_video",
           "read_frame_list", "read_frames", "stream_info"]


def __getattr__(name):
    if name in _PROCESSORS:
        from . import video_processing_tada

        return getattr(video_processing_tada, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
