"""Write frames as an MPEG-4 Part 2 AVI, the format of HMDB51's clips (for synthetic datasets, tests, benchmarks)."""

import os

import numpy as np


def write_mpeg4_avi(path: str, frames, fps: int = 30, max_b_frames: int = 2, gop_size: int = 12,
                    bit_rate: int = 1_000_000) -> None:
    """Encode uint8 RGB frames (T, H, W, 3), H and W even, into `path`.

    B-frames are on by default because HMDB51's XviD/DivX files have them, and they are what trips up decoders that
    seek by frame arithmetic. The file is written beside `path` and renamed into place, so an interrupted write never
    leaves a file that looks complete.
    """
    import av

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"{path}: expected uint8 frames of shape (T, H, W, 3); got {frames.dtype} {frames.shape}.")
    if frames.shape[1] % 2 or frames.shape[2] % 2:
        raise ValueError(f"{path}: MPEG-4 needs an even frame size; got {frames.shape[2]}x{frames.shape[1]}.")
    partial_path = f"{path}.partial"
    with av.open(partial_path, "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.bit_rate = bit_rate
        stream.codec_context.max_b_frames = max_b_frames
        stream.codec_context.gop_size = gop_size
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    os.replace(partial_path, path)
