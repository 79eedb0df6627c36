"""`VideoClipTransform`, the `Dataset.set_transform` callable: rows (video path + metadata) in, model-ready clips out.

It ties the steps together and adds nothing of its own: pick frame indices (`sampling`, `views`), decode them
(`video_io`, in whatever process reads the row: DataLoader workers open their own files), crop and normalise
(`clip_ops`). Everything it does is set by one `ClipSettings`.

Training rows give one random clip each, `pixel_values` (T, C, H, W); with `augment_on_device=True`, the uint8
crop of each frame and the flip decision instead (`crops`, `flip`), finished on the training device
(`device_augmentation`). Where a mirror changes the class (Something-Something V2's "from left to right"), a flipped
clip's label is its mirror class's (`mirrored_labels`).
Evaluation rows give the `temporal_crops` x `spatial_crops` views in view-index order (`views`), `pixel_values`
(T, C, H, W) for a single view, else (views, T, C, H, W); rows with a `view_index` column (one row per view, as
`hf_video.training.expand_views` makes them) give that view alone, (T, C, H, W), and the views of one temporal clip
that share a batch share one decode. Random draws use the `random` module, which PyTorch reseeds in every
DataLoader worker, so workers never repeat each other's augmentations.
"""

import os

import torch

from .clip_ops import draw_augmentation, finish_augmentation, frame_size, spatial_views
from .clip_settings import ClipSettings
from .sampling import clip_indices
from .video_io import (DEFAULT_VIDEO_BACKEND, InMemoryVideo, check_unchanged, check_video_backend, read_frame_list,
                       video_source)
from .views import eval_clip_indices, eval_frame_indices, eval_view_position, eval_views


class VideoClipTransform:
    """Picklable batch transform for `Dataset.set_transform` (or `with_transform`).

    Reads the columns `video` (a path, relative ones under `video_root`, or a `datasets.Video(decode=False)` value
    whose bytes are decoded from memory, as in an exported dataset), `num_frames`, `fps` and `label`, `packets`
    where the builder stored the stream's packet list (the decoder then skips its pass over the file), and
    `start_frame` / `end_frame` where a row is a segment of its video (`load_videos` with start and end times): clips
    are then sampled among those frames only; returns
    `pixel_values` and `labels`. Rows that record their file's size and modification time (`file_size`,
    `file_mtime_ns`, as the builders write them) are checked against the file: a video that changed since the dataset
    was prepared raises `VideoDecodeError`, as does one that no longer decodes `num_frames` frames.

    `mirrored_labels`: {label: label of its mirror image} for the classes a horizontal flip turns into others (the
    dataset kind's `training_flip()` derives them; `hf_video.data.mirrored_classes.mirrored_labels(class_names)`):
    a flipped training clip of such a class gets the other label.
    """

    def __init__(self, settings: ClipSettings | None = None, train: bool = True,
                 video_backend: str = DEFAULT_VIDEO_BACKEND, augment_on_device: bool = False,
                 video_root: str | None = None, mirrored_labels: dict | None = None):
        self.settings = settings or ClipSettings()
        self.mirrored_labels = dict(mirrored_labels or {})
        self.video_root = None if video_root is None else os.fspath(video_root)
        self.train = train
        self.video_backend = check_video_backend(video_backend)
        if augment_on_device and not train:
            raise ValueError("augment_on_device=True applies to training rows (train=True); evaluation clips are "
                             "finished in the loader.")
        self.augment_on_device = augment_on_device

    def __repr__(self):
        return (f"{type(self).__name__}(settings={self.settings!r}, train={self.train}, "
                f"video_backend={self.video_backend!r}, augment_on_device={self.augment_on_device}, "
                f"video_root={self.video_root!r}, mirrored_labels={self.mirrored_labels or None!r})")

    def __call__(self, batch: dict) -> dict:
        missing = [column for column in ("video", "num_frames", "fps", "label") if column not in batch]
        if missing:
            hint = ("A dataset of your own videos gets them, each file probed and checked, from "
                    "hf_video.data.prepare_videos(dataset) (or load_videos(folder or list file))."
                    if "video" in batch and {"num_frames", "fps"} & set(missing) else
                    "Apply it to the dataset itself, not after removing columns.")
            raise KeyError(f"{type(self).__name__} needs the columns video, num_frames, fps and label; missing "
                           f"{missing}. {hint}")
        rows = list(zip(map(self._source, batch["video"]), batch["num_frames"], batch["fps"]))
        segments = list(zip(batch["start_frame"], batch["end_frame"])) if "start_frame" in batch else \
            [None] * len(rows)
        if "file_size" in batch and "file_mtime_ns" in batch:
            for (video, *_), size, mtime_ns in zip(rows, batch["file_size"], batch["file_mtime_ns"]):
                if not isinstance(video, InMemoryVideo):
                    check_unchanged(video, size, mtime_ns)
        packets = batch.get("packets") or [None] * len(rows)
        if self.augment_on_device:
            crops = [self.read_train_crop(*row, packets=row_packets, segment=segment)
                     for row, row_packets, segment in zip(rows, packets, segments)]
            return {"crops": [crop for crop, _ in crops], "flip": [flip for _, flip in crops],
                    "labels": self._labels(batch["label"], [flip for _, flip in crops])}
        if self.train:
            clips = [self._train_clip(*row, row_packets, segment) for row, row_packets, segment in
                     zip(rows, packets, segments)]
            return {"pixel_values": [clip for clip, _ in clips],
                    "labels": self._labels(batch["label"], [flip for _, flip in clips])}
        if "view_index" in batch:
            clips = self._read_views(rows, batch["view_index"], packets, segments)
        else:
            clips = [self.read_eval_views(*row, packets=row_packets, segment=segment)
                     for row, row_packets, segment in zip(rows, packets, segments)]
        return {"pixel_values": clips, "labels": list(batch["label"])}

    def _labels(self, labels, flips) -> list:
        """The rows' labels, a flipped clip's swapped for its mirror class's where `mirrored_labels` has one."""
        return [self.mirrored_labels.get(label, label) if flip else label for label, flip in zip(labels, flips)]

    def _source(self, video):
        """A row's video as the readers take it: bytes, an absolute path, or a relative one under `video_root`
        (also an exported row without bytes, whose path is then relative to it)."""
        if isinstance(video, dict) and not video.get("bytes") and self.video_root is not None \
                and video.get("path") and not os.path.isabs(video["path"]):
            video = video["path"]  # any other row without bytes is refused by video_source
        source = video_source(video)
        if isinstance(source, InMemoryVideo) or os.path.isabs(source):
            return source
        if self.video_root is None:
            raise ValueError(f"video={source!r} is relative (a dataset prepared with relative_paths=True): pass "
                             "VideoClipTransform(..., video_root=<the folder it was prepared from, or its copy>).")
        if os.path.normpath(source).split(os.sep)[0] == os.pardir:
            raise ValueError(f"video={source!r} leads out of video_root={self.video_root!r}; a row names a video "
                             "inside it.")
        return os.path.join(self.video_root, source)

    def read_train_clip(self, path: str, num_video_frames: int, video_fps: float, packets: dict | None = None,
                        segment: tuple | None = None) -> torch.Tensor:
        """A random clip of the video, augmented: (T, C, H, W). `packets`: the row's stored packet list, if any;
        `segment`: (first frame, frame after the last) to sample among, if not the whole video."""
        return self._train_clip(path, num_video_frames, video_fps, packets, segment)[0]

    def _train_clip(self, path: str, num_video_frames: int, video_fps: float, packets: dict | None = None,
                    segment: tuple | None = None) -> tuple[torch.Tensor, bool]:
        """(`read_train_clip`'s clip, whether it was flipped)."""
        indices = _in_segment(clip_indices, self.settings, num_video_frames, video_fps, segment)
        frames = self._read(path, indices, num_video_frames, packets)
        box, flip = draw_augmentation(*frame_size(frames), self.settings)
        return finish_augmentation(frames, box, flip, self.settings), flip

    def read_train_crop(self, path: str, num_video_frames: int, video_fps: float, packets: dict | None = None,
                        segment: tuple | None = None) -> tuple[list, bool]:
        """The loader's half of `read_train_clip` (see `device_augmentation`): the random box of every frame, as
        uint8 (h, w, 3) views into the decoded frames (`collate_crops` copies them once, into the batch), and whether
        to flip. The same random draws as `read_train_clip`."""
        indices = _in_segment(clip_indices, self.settings, num_video_frames, video_fps, segment)
        frames = self._read(path, indices, num_video_frames, packets)
        (top, left, height, width), flip = draw_augmentation(*frames[0].shape[:2], self.settings)
        return [frame[top:top + height, left:left + width] for frame in frames], flip

    def read_eval_views(self, path: str, num_video_frames: int, video_fps: float, packets: dict | None = None,
                        segment: tuple | None = None) -> torch.Tensor:
        """Every evaluation view of the video (one read for all temporal clips), as `views.eval_views` returns them;
        of its `segment` (first frame, frame after the last), if given."""
        indices = _in_segment(eval_frame_indices, self.settings, num_video_frames, video_fps, segment)
        return eval_views(self._read(path, indices, num_video_frames, packets), self.settings)

    def _read_views(self, rows: list, view_indices: list, packets: list, segments: list) -> list:
        """The views of rows (one view each), decoding each temporal clip once for all its spatial views in the batch
        (consecutive rows of `expand_views` are the views of one video)."""
        clips = {}  # (path, temporal index) -> every spatial view of that clip
        views = []
        for (path, num_video_frames, video_fps), view_index, row_packets, segment in zip(rows, view_indices, packets,
                                                                                         segments):
            temporal_index, spatial_index = eval_view_position(view_index, self.settings)
            key = (path, segment, temporal_index)
            if key not in clips:
                indices = _in_segment(eval_clip_indices, self.settings, num_video_frames, video_fps, segment,
                                      temporal_index)
                frames = self._read(path, indices, num_video_frames, row_packets)
                clips[key] = spatial_views(frames, self.settings)
            views.append(clips[key][spatial_index])
        return views

    def _read(self, path: str, indices: list, num_video_frames: int, packets: dict | None) -> list:
        # The prepared frame count makes the decoder check that the file still holds that many frames.
        return read_frame_list(path, indices, self.video_backend, num_frames=int(num_video_frames), packets=packets)


def _in_segment(sampler, settings: ClipSettings, num_video_frames: int, video_fps: float, segment: tuple | None,
                *arguments) -> list:
    """`sampler`'s frame indices over the segment's frames (first, frame after the last), moved to where the segment
    starts; over the whole video without one."""
    if segment is None:
        return sampler(settings, num_video_frames, video_fps, *arguments)
    first, stop = int(segment[0]), int(segment[1])
    if not 0 <= first < stop <= num_video_frames:
        raise ValueError(f"segment frames [{first}, {stop}) do not lie in the video's {num_video_frames} frames.")
    return [first + index for index in sampler(settings, stop - first, video_fps, *arguments)]
