"""Which frames a trimmed clip holds (`start` and `end` in seconds, as list files give them): those shown from `start`
up to, not including, `end`, counted from the first frame shown. Times are the frames' presentation timestamps, so a
variable-rate video is cut where its frames are shown, not where a constant rate would put them; a stream without
timestamps (AVI) shows frame i at i / fps, as FFmpeg times it."""

from .packet_lists import frame_order, packets_from_columns

# Timestamps are exact fractions of the time base; a float product can miss a boundary by a rounding error.
TOLERANCE_SECONDS = 1e-6


def frame_times(packets: dict | None, num_frames: int, fps: float, time_base: float | None) -> list[float]:
    """Seconds after the first shown frame at which each of the first `num_frames` frames is shown. `packets`: the
    stream's packet list as `packet_columns` stores it."""
    if packets and time_base:
        timestamps = frame_order(packets_from_columns("the packet list", packets)).timestamps[:num_frames]
        if len(timestamps) == num_frames and None not in timestamps:
            return [(timestamp - timestamps[0]) * time_base for timestamp in timestamps]
    return [index / fps for index in range(num_frames)]


def segment_frames(packets: dict | None, num_frames: int, fps: float, time_base: float | None,
                   start: float | None, end: float | None) -> tuple[int, int] | None:
    """(first frame, frame after the last) of the frames shown in [start, end) (None: the video's start or end), or
    None where no frame is shown then."""
    times = frame_times(packets, num_frames, fps, time_base)
    start = 0.0 if start is None else start
    first = next((index for index, time in enumerate(times) if time >= start - TOLERANCE_SECONDS), None)
    stop = num_frames if end is None else next(
        (index for index, time in enumerate(times) if time >= end - TOLERANCE_SECONDS), num_frames)
    if first is None or stop <= first:
        return None
    return first, stop
