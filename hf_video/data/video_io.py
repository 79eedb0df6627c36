"""Video decoding behind one small interface: `probe_video` (what a file holds) and `read_frames` (some of its frames).

Two backends, chosen by name (`video_backend="pyav"` or `"decord"`); both return the requested frame indices as a
uint8 tensor (T, H, W, C) in RGB, and both agree on which frame is which, B-frames included:

- `pyav` (default, faster): maps frame index -> presentation timestamp through the sorted pts of the stream's
  packets (in AVI files with B-frames the first decoded pts can be 1 while the stream starts at 0, so arithmetic on
  the frame rate is off by one), seeks to the keyframe before the first wanted frame, decodes forward and stops
  after the last one; only wanted frames are converted to RGB.
- `decord`: decord 0.6 returns wrong frames after any seek in MPEG-4 AVI with B-frames (frame 11 comes back as
  frame 1, measured on files like HMDB51's), including through `get_batch` and `skip_frames`. So this backend never
  seeks: it decodes forward from the first frame and keeps the wanted ones.

Nothing is opened at import time and no reader outlives a call, so DataLoader workers open their own files (decord
readers made in the parent process deadlock forked workers) and repeated reads do not accumulate readers.
Indices past the last decodable frame are clamped to it; a file that cannot be decoded raises `VideoDecodeError`
naming it.
"""

import os
from dataclasses import dataclass

import numpy as np
import torch

VIDEO_BACKENDS = ("pyav", "decord")
DEFAULT_VIDEO_BACKEND = "pyav"


class VideoDecodeError(RuntimeError):
    """A video file could not be opened or decoded; the message names the file and the reason."""


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int  # frames that actually decode (headers can over-report by one)
    fps: float
    width: int
    height: int


def check_video_backend(video_backend: str) -> str:
    if video_backend not in VIDEO_BACKENDS:
        raise ValueError(f"video_backend={video_backend!r}: expected one of {', '.join(VIDEO_BACKENDS)}.")
    return video_backend


def _open_pyav(path: str):
    import av

    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise VideoDecodeError(f"{path}: the file is empty (0 bytes); re-extract or re-download it.")
    try:
        # HMDB51 files carry metadata that is not UTF-8: ignore it rather than fail.
        container = av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, OSError) as error:
        raise VideoDecodeError(f"{path}: cannot open as a video ({error}).") from error
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"{path}: the file has no video stream.")
    return container, container.streams.video[0]


def probe_video(path: str) -> VideoInfo:
    """Frame count (by decoding every frame, without colour conversion), frame rate and size of a video file."""
    return _video_info(path, decode=True)


def stream_info(path: str) -> VideoInfo:
    """Like `probe_video`, from the stream's packets alone (no decoding): for inference, where decoding the whole
    video just to count frames would double the work. The count can exceed the decodable frames by one, which
    `read_frames` absorbs by clamping."""
    return _video_info(path, decode=False)


def _video_info(path: str, decode: bool) -> VideoInfo:
    import av

    container, stream = _open_pyav(path)
    try:
        if decode:
            num_frames = sum(1 for _ in container.decode(stream))
        else:
            num_frames = len(packet_timestamps(container, stream)[0])
        rate = stream.average_rate or stream.guessed_rate
        width, height = stream.codec_context.width, stream.codec_context.height
    except av.FFmpegError as error:
        raise VideoDecodeError(f"{path}: {'decoding' if decode else 'reading the stream'} failed ({error}).") from error
    finally:
        container.close()
    if num_frames == 0:
        reason = "no frame could be decoded" if decode else "the video stream holds no frames"
        raise VideoDecodeError(f"{path}: {reason}.")
    if not rate or rate <= 0:
        raise VideoDecodeError(f"{path}: the video stream has no frame rate.")
    return VideoInfo(num_frames=num_frames, fps=float(rate), width=width, height=height)


def packet_timestamps(container, stream) -> tuple[list, int]:
    """(the presentation timestamps of the stream's frames in display order, so that frame i is shown at
    pts[i]; the reorder delay: how many ticks a frame can be decoded before it is shown, 0 without B-frames).
    One pass over the packets, no decoding."""
    timestamps = [(packet.pts, packet.dts) for packet in container.demux(stream)
                  if packet.pts is not None and packet.size]
    reorder_delay = max((presentation - decode for presentation, decode in timestamps if decode is not None),
                        default=0)
    return sorted(presentation for presentation, _ in timestamps), max(reorder_delay, 0)


def read_frames(path: str, indices, video_backend: str = DEFAULT_VIDEO_BACKEND) -> torch.Tensor:
    """The frames at `indices` (any order, repeats allowed) as uint8 (len(indices), H, W, 3), RGB."""
    return torch.from_numpy(np.stack(read_frame_list(path, indices, video_backend)))


def read_frame_list(path: str, indices, video_backend: str = DEFAULT_VIDEO_BACKEND) -> list:
    """Like `read_frames`, as a list of uint8 (H, W, 3) arrays (repeated indices share one array): the transforms
    crop each frame as they convert it, which saves stacking full frames first."""
    check_video_backend(video_backend)
    indices = [int(index) for index in indices]
    if not indices:
        raise ValueError(f"{path}: no frame indices requested.")
    if min(indices) < 0:
        raise ValueError(f"{path}: frame indices must be non-negative; got {min(indices)}.")
    reader = _read_frames_pyav if video_backend == "pyav" else _read_frames_decord
    frames_by_index = reader(path, sorted(set(indices)))
    return [_nearest_decoded(frames_by_index, index) for index in indices]


def _nearest_decoded(frames_by_index: dict, index: int) -> np.ndarray:
    """The frame at `index`, or the last decoded frame before it where the file stopped decoding early."""
    if index in frames_by_index:
        return frames_by_index[index]
    earlier = [decoded for decoded in frames_by_index if decoded <= index]
    return frames_by_index[max(earlier) if earlier else min(frames_by_index)]


def _read_frames_pyav(path: str, wanted: list) -> dict:
    import av

    container, stream = _open_pyav(path)
    try:
        pts, reorder_delay = packet_timestamps(container, stream)
        if not pts:
            raise VideoDecodeError(f"{path}: the video stream has no timestamped packets.")
        wanted = sorted({min(index, len(pts) - 1) for index in wanted})
        # Keyframes are found by decode timestamp; a frame can be decoded up to `reorder_delay` ticks before it is
        # shown, so seeking that much earlier finds a keyframe from which the first wanted frame decodes.
        seek_to = pts[wanted[0]] - reorder_delay
        seek_to = seek_to if seek_to > pts[0] else None
        while True:
            frames, keyframe_dts = _decode_pyav_range(container, stream, pts, wanted, seek_to)
            if frames is not None:
                break
            # The keyframe found is shown after the first wanted frame (B-frames before it need the previous group
            # of pictures): seek again, one keyframe earlier; at the start of the stream, decode from there.
            seek_to = keyframe_dts - 1 if keyframe_dts is not None and keyframe_dts - 1 > pts[0] else None
    except av.FFmpegError as error:
        raise VideoDecodeError(f"{path}: decoding failed ({error}).") from error
    finally:
        container.close()
    if not frames:
        raise VideoDecodeError(f"{path}: no frame could be decoded.")
    return frames


def _decode_pyav_range(container, stream, pts: list, wanted: list, seek_to: int | None) -> tuple:
    """({index: RGB frame} of the wanted frames, or None if the seek to `seek_to` landed after the first of
    them; the decode timestamp of the first packet after the seek)."""
    container.seek(pts[0] if seek_to is None else seek_to, stream=stream, backward=True, any_frame=False)
    wanted_pts = {pts[index]: index for index in wanted}
    last_pts = pts[wanted[-1]]
    codec = stream.codec_context
    frames, keyframe_dts = {}, None
    first = True
    try:
        for packet in container.demux(stream):
            if keyframe_dts is None:
                keyframe_dts = packet.dts
            # Frames that no other frame refers to (B-frames) need not be decoded unless they are wanted: with
            # interval sampling that skips about half the frames of a typical IBBP stream. Which frames came out
            # is checked by their timestamps below, so a stream that defies this can only cost speed.
            codec.skip_frame = "DEFAULT" if packet.pts is None or packet.pts in wanted_pts else "NONREF"
            for frame in codec.decode(packet):
                if frame.pts is None:
                    continue
                if first and seek_to is not None and frame.pts > pts[wanted[0]]:
                    return None, keyframe_dts
                first = False
                index = wanted_pts.get(frame.pts)
                if index is not None:
                    frames[index] = frame.to_ndarray(format="rgb24")
                if frame.pts >= last_pts:
                    return frames, keyframe_dts
    finally:
        codec.skip_frame = "DEFAULT"
    return frames, keyframe_dts


def _read_frames_decord(path: str, wanted: list) -> dict:
    import decord

    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise VideoDecodeError(f"{path}: the file is empty (0 bytes); re-extract or re-download it.")
    try:
        reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
    except (decord.DECORDError, RuntimeError) as error:  # decord raises a bare RuntimeError for unreadable files
        raise VideoDecodeError(f"{path}: cannot open as a video ({error}).") from error
    frames = {}
    try:
        last = min(wanted[-1], len(reader) - 1)
        wanted = set(wanted)
        for index in range(last + 1):
            frame = reader.next()  # sequential only: decord's seeks are wrong with B-frames (module docstring)
            if index in wanted or index == last:
                frames[index] = frame.asnumpy()
    except (decord.DECORDError, StopIteration):
        pass  # the header over-reported the frame count: keep what decoded, later indices clamp to it
    finally:
        del reader
    if not frames:
        raise VideoDecodeError(f"{path}: no frame could be decoded.")
    return frames
