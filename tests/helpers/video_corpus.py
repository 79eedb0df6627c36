"""A corpus of small videos in the containers and codecs users bring, each frame saying its own index, and the
reference every reader is held to: a plain sequential decode (frame k = the k-th frame FFmpeg shows).

Written by PyAV in the tests; small frames and few of them, so the whole corpus takes a second or two.
"""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hf_video.data.video_writing import write_mpeg4_avi

from .video_files import frame_number, numbered_frames

WIDTH, HEIGHT = 128, 96
NUM_FRAMES = 60
X264_OPEN_GOP = "bframes=3:b-pyramid=normal:open-gop=1:keyint=12:min-keyint=12:scenecut=0"


def _encode(path: Path, container_format: str, codec: str, frames, timestamps, time_base: Fraction,
            options=None, pix_fmt="yuv420p", x264_params=None, max_b_frames=None) -> Path:
    """Encode `frames` with presentation timestamps `timestamps` (in `time_base` units)."""
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=round(1 / time_base) if time_base.numerator == 1 else None,
                                      options=options or {})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, pix_fmt
        stream.codec_context.time_base = time_base
        if x264_params:
            stream.codec_context.options = {**stream.codec_context.options, "x264-params": x264_params, "crf": "12"}
        if max_b_frames is not None:
            stream.codec_context.max_b_frames = max_b_frames
            stream.codec_context.gop_size = 12
            stream.codec_context.bit_rate = 2_000_000
        for image, timestamp in zip(frames, timestamps):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = timestamp, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def _cut_with_edit_list(source: Path, path: Path, cut_frame: int) -> Path:
    """What a stream-copy cut makes: the packets from the keyframe before `cut_frame` on, shifted so that
    `cut_frame` is shown at 0; the MP4 muxer writes an edit list, and the demuxer flags the packets before the cut
    as discarded."""
    with av.open(str(source)) as reader, av.open(str(path), "w", format="mp4") as writer:
        stream = reader.streams.video[0]
        packets = [packet for packet in reader.demux(stream) if packet.size]
        cut_pts = sorted(packet.pts for packet in packets)[cut_frame]
        start = max(position for position, packet in enumerate(packets)
                    if packet.is_keyframe and packet.pts <= cut_pts and packet.dts <= cut_pts)
        output = writer.add_stream_from_template(stream)
        for packet in packets[start:]:
            packet.pts -= cut_pts
            packet.dts -= cut_pts
            packet.stream = output
            writer.mux(packet)
    return path


def write_corpus(folder) -> dict:
    """{name: path} of every corpus video in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = numbered_frames(NUM_FRAMES, HEIGHT, WIDTH)
    regular = range(NUM_FRAMES)
    # Variable frame rate: frame durations of 20, 50 and 33 ms in turn.
    vfr = np.cumsum([0] + [(20, 50, 33)[index % 3] for index in range(NUM_FRAMES - 1)]).tolist()
    # Dropped frames: gaps of one and three frame times.
    gaps = [index + (index >= 20) + 3 * (index >= 40) for index in regular]
    corpus = {}
    write_mpeg4_avi(str(folder / "hmdb_like.avi"), frames, fps=30)
    corpus["hmdb_like.avi"] = folder / "hmdb_like.avi"
    corpus["open_gop.mp4"] = _encode(folder / "open_gop.mp4", "mp4", "libx264", frames, regular, Fraction(1, 30),
                                     x264_params=X264_OPEN_GOP)
    corpus["edit_list.mp4"] = _cut_with_edit_list(corpus["open_gop.mp4"], folder / "edit_list.mp4", cut_frame=15)
    corpus["starts_at_2s.mkv"] = _encode(folder / "starts_at_2s.mkv", "matroska", "libx264", frames,
                                         [60 + index for index in regular], Fraction(1, 30),
                                         x264_params=X264_OPEN_GOP)
    corpus["b_frames.ts"] = _encode(folder / "b_frames.ts", "mpegts", "libx264", frames, regular, Fraction(1, 30),
                                    x264_params=X264_OPEN_GOP)
    corpus["mpeg2_b_frames.ts"] = _encode(folder / "mpeg2_b_frames.ts", "mpegts", "mpeg2video", frames, regular,
                                          Fraction(1, 30), max_b_frames=2)
    corpus["vfr.mp4"] = _encode(folder / "vfr.mp4", "mp4", "libx264", frames, vfr, Fraction(1, 1000),
                                x264_params=X264_OPEN_GOP)
    corpus["vfr.mkv"] = _encode(folder / "vfr.mkv", "matroska", "libx264", frames, vfr, Fraction(1, 1000),
                                x264_params=X264_OPEN_GOP)
    corpus["gaps.avi"] = _encode(folder / "gaps.avi", "avi", "mpeg4", frames, gaps, Fraction(1, 30), max_b_frames=2)
    corpus["mjpeg.avi"] = _encode(folder / "mjpeg.avi", "avi", "mjpeg", frames, regular, Fraction(1, 30),
                                  pix_fmt="yuvj420p")
    return corpus


def sequential_decode(path) -> list:
    """Every frame FFmpeg shows, in order, as RGB arrays: the reference for frame k. Colour as docs/data.md says the
    readers convert it: nearest chroma for frames deeper than 8 bits."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24", interpolation="POINT" if frame.format.components[0].bits > 8 else None)
                for frame in container.decode(container.streams.video[0])]


def frame_numbers(frames) -> list:
    """The index each frame of `numbered_frames` says it is."""
    return [frame_number(frame) for frame in frames]
