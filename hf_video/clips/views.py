"""Evaluation views: every video is evaluated on `temporal_crops` x `spatial_crops` views, and this module is the one
place that orders them.

The order is temporal-major: view `v` of a video is spatial crop `v % spatial_crops` (left, centre, right; see
`clip_ops.spatial_crop_boxes`) of temporal clip `v // spatial_crops` (see `sampling.clip_indices`). The clip
transform, the multi-view evaluation and the video processor all number views through these functions.
"""

import torch

from .clip_ops import spatial_views
from .clip_settings import ClipSettings
from .sampling import clip_indices


def num_eval_views(settings: ClipSettings) -> int:
    return settings.temporal_crops * settings.spatial_crops


def eval_view_index(temporal_index: int, spatial_index: int, settings: ClipSettings) -> int:
    """The index of the view that takes spatial crop `spatial_index` of temporal clip `temporal_index`."""
    if not (0 <= temporal_index < settings.temporal_crops and 0 <= spatial_index < settings.spatial_crops):
        raise ValueError(f"(temporal_index, spatial_index)=({temporal_index}, {spatial_index}) lies outside the "
                         f"{settings.temporal_crops} x {settings.spatial_crops} evaluation views.")
    return temporal_index * settings.spatial_crops + spatial_index


def eval_view_position(view_index: int, settings: ClipSettings) -> tuple[int, int]:
    """(temporal clip, spatial crop) of view `view_index`."""
    if not 0 <= view_index < num_eval_views(settings):
        raise ValueError(f"view_index={view_index!r} lies outside the {num_eval_views(settings)} evaluation views "
                         f"({settings.temporal_crops} temporal x {settings.spatial_crops} spatial).")
    return divmod(view_index, settings.spatial_crops)


def eval_clip_indices(settings: ClipSettings, num_video_frames: int, video_fps: float,
                      temporal_index: int) -> list[int]:
    """Frame indices of temporal clip `temporal_index` of the evaluation views."""
    return clip_indices(settings, num_video_frames, video_fps, temporal_index, settings.temporal_crops)


def eval_frame_indices(settings: ClipSettings, num_video_frames: int, video_fps: float) -> list[int]:
    """The frame indices of every temporal clip, one clip after the other: decode them in one read, then give the
    frames to `eval_views`."""
    return [index for temporal_index in range(settings.temporal_crops)
            for index in eval_clip_indices(settings, num_video_frames, video_fps, temporal_index)]


def eval_views(frames, settings: ClipSettings) -> torch.Tensor:
    """Every evaluation view of the frames read at `eval_frame_indices`: (T, C, H, W) for a single view, else
    (temporal_crops * spatial_crops, T, C, H, W), in view-index order."""
    clip_length = settings.num_frames
    if len(frames) != settings.temporal_crops * clip_length:
        raise ValueError(f"expected the {settings.temporal_crops} x {clip_length} frames of eval_frame_indices; "
                         f"got {len(frames)}.")
    views = torch.cat([spatial_views(frames[start:start + clip_length], settings)
                       for start in range(0, len(frames), clip_length)])
    return views[0] if len(views) == 1 else views
