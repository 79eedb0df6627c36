"""A decoded frame as the uint8 RGB array FFmpeg's command-line tool shows: its colour conversion, and its display
rotation."""

import threading

import numpy as np

from .video_sources import VideoDecodeError


_converters = threading.local()  # the converter's state is not safe to share: one per thread


def rgb_frame(frame) -> np.ndarray:
    """A decoded frame as a uint8 (H, W, 3) RGB array, as displayed: the pixels of `frame.to_ndarray(format="rgb24")`
    through one colour converter kept per thread, on one thread, then turned by the frame's display rotation.
    `to_ndarray` builds a new converter for every frame and lets it start a thread per core: 0.3 ms a frame for
    320x240 against 0.03 ms with the kept one."""
    converter = getattr(_converters, "rgb", None)
    if converter is None:
        from av.video.reformatter import VideoReformatter

        converter = _converters.rgb = VideoReformatter()
    turns = quarter_turns(frame.rotation)
    source = _progressive(frame) if frame.interlaced_frame else frame
    # Frames deeper than 8 bits take swscale's scaled path, where nearest chroma is the closest to FFmpeg 5.1's CLI
    # (docs/data.md, "Colour"); 8-bit formats take its unscaled path, exact to it.
    interpolation = "POINT" if source.format.components[0].bits > 8 else None
    rgb = converter.reformat(source, format="rgb24", threads=1, interpolation=interpolation).to_ndarray()
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _progressive(frame):
    """An interlaced frame's pictures in a frame not flagged interlaced: the swscale PyAV ships (FFmpeg 8) converts
    flagged frames field by field, where FFmpeg's CLI and decord convert the whole frame (up to 255 levels apart at
    colour edges on every other line pair)."""
    import av

    try:
        copy = av.VideoFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name)
    except (ValueError, TypeError, av.FFmpegError):
        return frame  # a layout PyAV cannot copy through numpy: converted as it is (docs/data.md)
    copy.colorspace, copy.color_range = frame.colorspace, frame.color_range
    return copy


def quarter_turns(rotation) -> int:
    """Anticlockwise quarter turns that display a frame whose display matrix turns it by `rotation` degrees."""
    if rotation % 90:
        raise UnsupportedRotation(rotation)
    return int(rotation) // 90 % 4


class UnsupportedRotation(ValueError):
    def __init__(self, rotation):
        super().__init__(rotation)
        self.rotation = rotation


def checked_rotation(path, rotation) -> int:
    try:
        return quarter_turns(rotation)
    except UnsupportedRotation as error:
        raise rotation_error(path, error) from None


def rotation_error(path, error: "UnsupportedRotation") -> VideoDecodeError:
    return VideoDecodeError(f"{path}: the stream is displayed turned by {error.rotation} degrees, not a multiple of "
                            "90; such frames cannot be shown exactly. Re-encode it with the rotation applied "
                            "(ffmpeg -i IN -c:v libx264 OUT.mp4 applies it).")
