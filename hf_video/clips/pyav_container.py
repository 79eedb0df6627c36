"""Opening a video with PyAV (FFmpeg), with errors that say what is wrong with the file."""

import re

from .mp4_boxes import is_mp4_without_index
from .video_sources import InMemoryVideo, VideoDecodeError, check_local_file


def open_pyav(path):
    import av

    in_memory = isinstance(path, InMemoryVideo)
    size = len(path.data) if in_memory else check_local_file(path)
    if size == 0:
        raise VideoDecodeError(f"{path}: the file is empty (0 bytes); re-extract or re-download it.")
    try:
        # HMDB51 files carry metadata that is not UTF-8: ignore it rather than fail.
        container = av.open(path.open() if in_memory else path, metadata_errors="ignore")
    except (av.FFmpegError, OSError) as error:
        # FFmpeg's error codes read as system errors ("Device or resource busy"): say what was wrong where we can.
        raise VideoDecodeError(f"{path}: cannot open as a video: {_open_failure(path, error)}.") from error
    if not container.streams.video:
        container.close()
        if is_mp4_without_index(path):
            raise VideoDecodeError(f"{path}: an MP4 without its index (moov box): the file was cut off before its end "
                                   "(an interrupted download or recording); download it again.")
        raise VideoDecodeError(f"{path}: the file has no video stream.")
    return container, container.streams.video[0]


# FFmpeg decodes frames of at most this many pixels (av_image_check_size: width x height x 8 within a signed int).
_MAX_PIXELS = (2**31 - 1) // 8


def _open_failure(path, error) -> str:
    """Why FFmpeg refused to open a file: what its first bytes tell (a Y4M header stating frames too large), else
    FFmpeg's own reason, whose error codes read as system errors ("Device or resource busy")."""
    head = path.data[:256] if isinstance(path, InMemoryVideo) else open(path, "rb").read(256)
    sizes = re.match(rb"YUV4MPEG2 (?:\S+ )*?W(\d+) H(\d+)", head)
    if sizes and int(sizes[1]) * int(sizes[2]) > _MAX_PIXELS:
        return (f"its header states {int(sizes[1])} x {int(sizes[2])} frames, beyond the {_MAX_PIXELS:,} pixels a "
                "frame FFmpeg decodes")
    reason = getattr(error, "strerror", None) or error
    return f"FFmpeg does not read it, a damaged file or not a video (FFmpeg: {reason})"
