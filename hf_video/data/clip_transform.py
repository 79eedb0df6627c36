"""`VideoClipTransform`, the `Dataset.set_transform` callable: rows (video path + metadata) in, model-ready clips out.

It ties the steps together and adds nothing of its own: pick frame indices (`sampling`, `views`), decode them
(`video_io`, in whatever process reads the row: DataLoader workers open their own files), crop and normalise
(`clip_ops`). Everything it does is set by one `ClipSettings`.

Training rows give one random clip each, `pixel_values` (T, C, H, W). Evaluation rows give the `temporal_crops` x
`spatial_crops` views in view-index order (`views`), `pixel_values` (T, C, H, W) for a single view, else
(views, T, C, H, W); rows with a `view_index` column (one row per view, as `hf_video.training.expand_views` makes
them) give that view alone, (T, C, H, W). Random draws use the `random` module, which PyTorch reseeds in every
DataLoader worker, so workers never repeat each other's augmentations.
"""

import torch

from .clip_ops import augment_clip, spatial_views
from .clip_settings import ClipSettings
from .sampling import clip_indices
from .video_io import DEFAULT_VIDEO_BACKEND, check_unchanged, check_video_backend, read_frame_list
from .views import eval_clip_indices, eval_frame_indices, eval_view_position, eval_views


class VideoClipTransform:
    """Picklable batch transform for `Dataset.set_transform` (or `with_transform`).

    Reads the columns `video` (path), `num_frames`, `fps` and `label`; returns `pixel_values` and `labels`. Rows that
    record their file's size and modification time (`file_size`, `file_mtime_ns`, as the builders write them) are
    checked against the file: a video that changed since the dataset was prepared raises `VideoDecodeError`, as does
    one that no longer decodes `num_frames` frames.
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
        rows = list(zip(batch["video"], batch["num_frames"], batch["fps"]))
        if "file_size" in batch and "file_mtime_ns" in batch:
            for (path, *_), size, mtime_ns in zip(rows, batch["file_size"], batch["file_mtime_ns"]):
                check_unchanged(path, size, mtime_ns)
        if self.train:
            clips = [self.read_train_clip(*row) for row in rows]
        elif "view_index" in batch:
            clips = [self.read_eval_view(*row, view_index) for row, view_index in zip(rows, batch["view_index"])]
        else:
            clips = [self.read_eval_views(*row) for row in rows]
        return {"pixel_values": clips, "labels": list(batch["label"])}

    def read_train_clip(self, path: str, num_video_frames: int, video_fps: float) -> torch.Tensor:
        """A random clip of the video, augmented: (T, C, H, W)."""
        indices = clip_indices(self.settings, num_video_frames, video_fps)
        return augment_clip(self._read(path, indices, num_video_frames), self.settings)

    def read_eval_views(self, path: str, num_video_frames: int, video_fps: float) -> torch.Tensor:
        """Every evaluation view of the video (one read for all temporal clips), as `views.eval_views` returns them."""
        indices = eval_frame_indices(self.settings, num_video_frames, video_fps)
        return eval_views(self._read(path, indices, num_video_frames), self.settings)

    def read_eval_view(self, path: str, num_video_frames: int, video_fps: float, view_index: int) -> torch.Tensor:
        """Evaluation view `view_index` alone: decodes only its temporal clip. (T, C, H, W)."""
        temporal_index, spatial_index = eval_view_position(view_index, self.settings)
        indices = eval_clip_indices(self.settings, num_video_frames, video_fps, temporal_index)
        return spatial_views(self._read(path, indices, num_video_frames), self.settings)[spatial_index]

    def _read(self, path: str, indices: list, num_video_frames: int) -> list:
        # The prepared frame count makes the decoder check that the file still holds that many frames.
        return read_frame_list(path, indices, self.video_backend, num_frames=int(num_video_frames))
