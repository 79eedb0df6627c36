"""What a video file holds: frame count, frame rate, displayed size, rotation and packet list (`probe_video` by
decoding every frame; `stream_info` from the packets and as little decoding as the count needs)."""

from dataclasses import dataclass

from .frame_conversion import checked_rotation
from .packet_lists import packet_columns
from .pyav_container import open_pyav
from .pyav_reader import decodable_count, listed_packets, packet_list_and_count
from .video_sources import VideoDecodeError


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int  # frames a sequential decode shows
    fps: float
    width: int  # as displayed: a stream turned by 90 or 270 degrees swaps its coded width and height
    height: int
    container_frames: int = 0  # the frame count the container's header states (0: none); it can over-report
    packets: dict | None = None  # `packet_columns` of the stream (probe_video), stored at prepare to save a demux
    rotation: int = 0  # degrees (0, 90, 180, 270) the coded frames are turned anticlockwise to be displayed
    time_base: float | None = None  # seconds per unit of the packets' timestamps (for trimming by time: segments)


def probe_video(path: str) -> VideoInfo:
    """Frame count (by decoding every frame, without colour conversion), frame rate, displayed size, rotation and
    packet list of a video file, in one pass."""
    return _video_info(path, decode=True)


def stream_info(path: str) -> VideoInfo:
    """Like `probe_video`, from the stream's packets and the decode of its last group of pictures only: for inference,
    where decoding the whole video just to count its frames would double the work."""
    return _video_info(path, decode=False)


def _video_info(path: str, decode: bool) -> VideoInfo:
    import av

    container, stream = open_pyav(path)
    try:
        if decode:
            packets, num_frames, rotation = packet_list_and_count(path, container, stream)
        else:
            packets, num_frames, rotation = listed_packets(path, container, stream)
            if num_frames is None:
                num_frames, rotation = decodable_count(path, container, stream, packets)
        rate = stream.average_rate or stream.guessed_rate
        width, height = stream.codec_context.width, stream.codec_context.height
        promised = stream.frames
        time_base = float(stream.time_base) if stream.time_base else None
    except av.FFmpegError as error:
        raise VideoDecodeError(f"{path}: {'decoding' if decode else 'reading the stream'} failed ({error}).") from error
    finally:
        container.close()
    if num_frames == 0:
        raise VideoDecodeError(f"{path}: no frame could be decoded.")
    if not rate or rate <= 0:
        raise VideoDecodeError(f"{path}: the video stream has no frame rate.")
    rotation = checked_rotation(path, rotation) * 90
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(num_frames=num_frames, fps=float(rate), width=width, height=height,
                     container_frames=max(promised, 0), packets=packet_columns(packets), rotation=rotation,
                     time_base=time_base)
