"""Write frames as video files in the datasets' formats, for synthetic datasets, tests and benchmarks: MPEG-4 Part 2
AVI (HMDB51, UCF101), VP9 WebM (Something-Something V2), H.264 MP4 (Kinetics)."""

import os

import numpy as np

# format name -> (container format, codec, options): what each dataset's files hold. VP9 with alternate reference
# frames (hidden frames packed with the next shown one into a superframe), as libvpx encodes by default.
VIDEO_FORMATS = {
    "mpeg4_avi": ("avi", "mpeg4", {}),
    "vp9_webm": ("webm", "libvpx-vp9", {"deadline": "good", "cpu-used": "4", "auto-alt-ref": "1",
                                        "lag-in-frames": "16"}),
    "h264_mp4": ("mp4", "libx264", {"preset": "ultrafast"}),
}


def write_video(path: str, frames, fps: int = 30, video_format: str = "mpeg4_avi", max_b_frames: int = 2,
                gop_size: int = 12, bit_rate: int = 1_000_000) -> None:
    """Encode uint8 RGB frames (T, H, W, 3), H and W even, into `path` in one of `VIDEO_FORMATS`.

    B-frames are on by default (for the codecs that have them) because HMDB51's XviD/DivX files and Kinetics' H.264
    ones have them, and they are what trips up decoders that seek by frame arithmetic. The file is written beside
    `path` and renamed into place, so an interrupted write never leaves a file that looks complete.
    """
    import av

    container_format, codec, options = VIDEO_FORMATS[video_format]
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"{path}: expected uint8 frames of shape (T, H, W, 3); got {frames.dtype} {frames.shape}.")
    if frames.shape[1] % 2 or frames.shape[2] % 2:
        raise ValueError(f"{path}: {codec} needs an even frame size; got {frames.shape[2]}x{frames.shape[1]}.")
    partial_path = f"{path}.partial"
    with av.open(partial_path, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=fps, options=dict(options))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.bit_rate = bit_rate
        stream.codec_context.gop_size = gop_size
        if codec != "libvpx-vp9":
            stream.codec_context.max_b_frames = max_b_frames
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    os.replace(partial_path, path)


def write_mpeg4_avi(path: str, frames, fps: int = 30, max_b_frames: int = 2, gop_size: int = 12,
                    bit_rate: int = 1_000_000) -> None:
    """`write_video` as an MPEG-4 Part 2 AVI, the format of HMDB51's clips."""
    write_video(path, frames, fps, "mpeg4_avi", max_b_frames, gop_size, bit_rate)
