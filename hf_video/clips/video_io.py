"""Video decoding behind one small interface: `probe_video` / `stream_info` (what a file holds) and `read_frames` /
`read_frame_list` (some of its frames).

The promise, for both backends (`video_backend="pyav"` or `"decord"`) and any file FFmpeg demuxes: frame `k` is the
k-th frame a plain sequential decode shows (edit lists and discarded packets honoured), as displayed (turned by the
stream's display rotation, as players, FFmpeg and decord show it), or `VideoDecodeError` names the file and the
index. Only indices past the last decodable frame are clamped to it. Frames are uint8 RGB.

- `pyav` (default, faster): one pass over the packets (no decoding; or none, given the packet list stored when the
  dataset was prepared) lists the stream's frames in display order by their presentation timestamps; a read starts
  at the last keyframe shown at or before the first wanted frame, feeds the decoder from that keyframe (frames shown
  before it, which may need an earlier group of pictures, are never used), identifies every decoded frame by its
  timestamp and converts only the wanted ones to RGB (with a colour converter kept per thread). A seek is checked
  where it landed (the packet that comes next), not where it was asked to land; when a container seeks inexactly
  (MPEG-TS), the read starts again from the beginning of the file.
  MPEG-4 Part 2 (DivX/XviD) in AVI, HMDB51's and UCF101's format, needs more: AVI stores no presentation
  timestamps, so with B-frames the container's timestamps follow decoding order, and DivX/XviD often store B-frames
  "packed" (a B-frame inside the packet before it, then a placeholder packet that the index may flag as a keyframe).
  There the packets are unpacked first (FFmpeg's `mpeg4_unpack_bframes`), keyframes are the I-frames found in the
  bitstream, and the display order is worked out from the frame types (a B-frame is shown at once, an I- or P-frame
  when the next one arrives), which is how the decoder shows them. A decoder that gives frames out of the display
  order so worked out is an error, never a silent shift.
- `decord`: decord 0.6 returns wrong frames after any seek in MPEG-4 AVI with B-frames (frame 11 comes back as
  frame 1, measured on files like HMDB51's), and shifted frames even sequentially in MPEG-TS and MPEG program
  streams. So this backend never seeks (it decodes forward from the first frame and keeps the wanted ones), reads
  only the containers where it is tested exact (AVI, MP4/MOV, Matroska/WebM), and takes the frame count from PyAV,
  since its own counts discarded frames.

Nothing is opened at import time and no reader outlives a call, so DataLoader workers open their own files (decord
readers made in the parent process deadlock forked workers) and repeated reads do not accumulate readers.
A reader given `num_frames` (the count measured when the dataset was prepared) also checks that the file still
holds that many frames. Every reader takes a path to a local regular file or an `InMemoryVideo` (a file's bytes;
`video_source` makes one from a `datasets.Video(decode=False)` value), with the same frames; a URL, an FFmpeg protocol
or a FIFO is refused before FFmpeg sees it. The rules every path follows are in docs/data.md ("The decoding rules").

This module is the interface; the work is done by its siblings, one job each: `video_sources` (what a reader takes,
the freshness check), `pyav_container` and `mp4_boxes` (opening a file, naming what is wrong with it),
`packet_lists` (numbering frames from packets), `frame_conversion` (colour and rotation), `pyav_reader` and
`decord_reader` (the backends), `video_probe` (`probe_video`, `stream_info`).
"""


import numpy as np
import torch

from .decord_reader import read_frames_decord
from .packet_lists import PACKET_FIELDS, packet_columns, packets_from_columns
from .pyav_reader import read_frames_pyav
from .video_probe import VideoInfo, probe_video, stream_info
from .video_sources import (InMemoryVideo, VideoDecodeError, changed_since_prepared, check_local_file, check_unchanged,
                            video_source)

__all__ = ["DEFAULT_VIDEO_BACKEND", "PACKET_FIELDS", "VIDEO_BACKENDS", "InMemoryVideo", "VideoDecodeError",
           "VideoInfo", "changed_since_prepared", "check_local_file", "check_unchanged", "check_video_backend",
           "packet_columns", "probe_video", "read_frame_list", "read_frames", "stream_info", "video_source"]

VIDEO_BACKENDS = ("pyav", "decord")


DEFAULT_VIDEO_BACKEND = "pyav"


def check_video_backend(video_backend: str) -> str:
    if video_backend not in VIDEO_BACKENDS:
        raise ValueError(f"video_backend={video_backend!r}: expected one of {', '.join(VIDEO_BACKENDS)}.")
    return video_backend


def read_frames(path: str, indices, video_backend: str = DEFAULT_VIDEO_BACKEND,
                num_frames: int | None = None, packets: dict | None = None) -> torch.Tensor:
    """The frames at `indices` (any order, repeats allowed) as uint8 (len(indices), H, W, 3), RGB: frame k is the
    k-th frame a sequential decode shows; indices past the last decodable frame give that frame.

    `num_frames`: the frame count measured when the dataset was prepared. Given, indices from it on are past the end,
    and a wanted frame the decoder does not give raises `VideoDecodeError`.
    `packets`: the packet list stored at prepare (`VideoInfo.packets`); PyAV then skips its pass over the file."""
    return torch.from_numpy(np.stack(read_frame_list(path, indices, video_backend, num_frames, packets)))


def read_frame_list(path: str, indices, video_backend: str = DEFAULT_VIDEO_BACKEND,
                    num_frames: int | None = None, packets: dict | None = None) -> list:
    """Like `read_frames`, as a list of uint8 (H, W, 3) arrays (repeated indices share one array): the clip
    operations crop each frame as they convert it, which saves stacking full frames first."""
    check_video_backend(video_backend)
    indices = [int(index) for index in indices]
    if not indices:
        raise ValueError(f"{path}: no frame indices requested.")
    if min(indices) < 0:
        raise ValueError(f"{path}: frame indices must be non-negative; got {min(indices)}.")
    if num_frames is not None and (isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1):
        raise ValueError(f"{path}: num_frames={num_frames!r}: expected the positive frame count of the video.")
    if video_backend == "decord":
        return read_frames_decord(path, indices, num_frames)
    stored = None if packets is None else packets_from_columns(path, packets)
    return read_frames_pyav(path, indices, num_frames, stored)
