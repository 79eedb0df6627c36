"""The `Dataset.set_transform` callable: rows (video path + metadata) in, model-ready clips out.

It ties the three steps together and adds nothing of its own: pick frame indices (`sampling`), decode them
(`video_io`, in whatever process reads the row: DataLoader workers open their own files), crop and normalise
(`transforms`). Everything it does is set by one `ClipSettings`.

Training rows give one random clip each, `pixel_values` (T, C, H, W). Evaluation rows give the `temporal_crops` x
`spatial_crops` test views, `pixel_values` (T, C, H, W) for a single view, else (temporal_crops * spatial_crops, T,
C, H, W), temporal-major; rows with a `view_index` column (one row per view, as
`hf_video.training.multi_view.expand_views` makes them) give that view alone, (T, C, H, W). Random draws use the
`random` module, which PyTorch reseeds in every DataLoader worker, so workers never repeat each other's
augmentations.
"""

import torch

from .sampling import sample_interval_indices, sample_segment_indices
from .transforms import ClipSettings, eval_views, train_clip
from .video_io import DEFAULT_VIDEO_BACKEND, check_video_backend, read_frame_list


def clip_indices(settings: ClipSettings, num_video_frames: int, video_fps: float,
                 clip_index: int | None = None, num_clips: int = 1) -> list[int]:
    """Frame indices of one clip (random for `clip_index=None`, else test clip `clip_index` of `num_clips`)."""
    if settings.sample_mode == "segment":
        return sample_segment_indices(num_video_frames, settings.num_frames, clip_index, num_clips)
    return sample_interval_indices(
        num_video_frames, video_fps, settings.num_frames, settings.sample_interval, settings.target_fps,
        clip_index, num_clips, settings.minus_interval)


def all_test_clip_indices(settings: ClipSettings, num_video_frames: int, video_fps: float) -> list[int]:
    """The frame indices of all `temporal_crops` test clips, one after the other (decode them in one read)."""
    num_clips = settings.temporal_crops
    return [index for clip_index in range(num_clips)
            for index in clip_indices(settings, num_video_frames, video_fps, clip_index, num_clips)]


def all_test_views(frames, settings: ClipSettings) -> torch.Tensor:
    """Every test view of the frames of `all_test_clip_indices`: (T, C, H, W) for a single view, else
    (temporal_crops * spatial_crops, T, C, H, W), temporal-major."""
    clips = [frames[start:start + settings.num_frames] for start in range(0, len(frames), settings.num_frames)]
    views = torch.cat([eval_views(clip, settings) for clip in clips])
    return views[0] if len(views) == 1 else views


class VideoClipTransform:
    """Picklable batch transform for `Dataset.set_transform` (or `with_transform`).

    Reads the columns `video` (path), `num_frames`, `fps` and `label`; returns `pixel_values` and `labels`.
    """

    def __init__(self, settings: ClipSettings | None = None, train: bool = True,
                 video_backend: str = DEFAULT_VIDEO_BACKEND):
        self.settings = settings or ClipSettings()
        self.train = train
        self.video_backend = check_video_backend(video_backend)

    def __repr__(self):
        return (f"{type(self).__name__}(settings={self.settings!r}, train={self.train}, "
                f"video_backend={self.video_backend!r})")

    def __call__(self, batch: dict) -> dict:
        missing = [column for column in ("video", "num_frames", "fps", "label") if column not in batch]
        if missing:
            raise KeyError(f"{type(self).__name__} needs the columns video, num_frames, fps and label; missing "
                           f"{missing}. Apply it to the dataset itself, not after removing columns.")
        rows = zip(batch["video"], batch["num_frames"], batch["fps"])
        if self.train:
            clips = [self.train_clip(*row) for row in rows]
        elif "view_index" in batch:
            clips = [self.eval_view(*row, view_index) for row, view_index in zip(rows, batch["view_index"])]
        else:
            clips = [self.eval_views(*row) for row in rows]
        return {"pixel_values": clips, "labels": list(batch["label"])}

    def train_clip(self, path: str, num_video_frames: int, video_fps: float) -> torch.Tensor:
        indices = clip_indices(self.settings, num_video_frames, video_fps)
        return train_clip(read_frame_list(path, indices, self.video_backend), self.settings)

    def eval_views(self, path: str, num_video_frames: int, video_fps: float) -> torch.Tensor:
        indices = all_test_clip_indices(self.settings, num_video_frames, video_fps)
        return all_test_views(read_frame_list(path, indices, self.video_backend), self.settings)

    def eval_view(self, path: str, num_video_frames: int, video_fps: float, view_index: int) -> torch.Tensor:
        """Test view `view_index` (temporal-major) alone: decodes only its temporal clip."""
        temporal_index, spatial_index = divmod(view_index, self.settings.spatial_crops)
        indices = clip_indices(self.settings, num_video_frames, video_fps, temporal_index, self.settings.temporal_crops)
        return eval_views(read_frame_list(path, indices, self.video_backend), self.settings)[spatial_index]
