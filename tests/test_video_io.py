"""Both decoding backends on generated MPEG-4 AVI files (with and without B-frames): same frames, right frames."""

import re

import numpy as np
import pytest
import torch

from hf_video.clips.video_io import (VIDEO_BACKENDS, VideoDecodeError, probe_video, read_frame_list, read_frames,
                                    stream_info)
from hf_video.data.video_writing import write_video
from helpers.video_files import frame_number, numbered_frames, write_numbered_video

NUM_FRAMES = 70


@pytest.fixture(scope="module", params=[0, 2], ids=["no-b-frames", "b-frames"])
def numbered_video(request, tmp_path_factory):
    """A 70-frame 320x240 AVI whose frames say their index; HMDB51's XviD files have B-frames."""
    path = tmp_path_factory.mktemp("videos") / f"clip_[b{request.param}]_#1!.avi"
    return write_numbered_video(path, NUM_FRAMES, max_b_frames=request.param, gop_size=12)


def test_probe_counts_decodable_frames_and_reads_rate_and_size(numbered_video):
    info = probe_video(str(numbered_video))
    assert (info.num_frames, info.fps, info.width, info.height) == (NUM_FRAMES, 30.0, 320, 240)
    assert stream_info(str(numbered_video)) == info  # the packets alone give the same, without decoding


@pytest.mark.parametrize("video_backend", VIDEO_BACKENDS)
def test_each_backend_returns_the_requested_frames(numbered_video, video_backend):
    # Out of order, repeated, across keyframes (every 12 frames) and mid-GOP: the seeks decord gets wrong.
    indices = [35, 3, 7, 11, 11, 20, 24, 50, 69]
    frames = read_frames(str(numbered_video), indices, video_backend)
    assert frames.dtype == torch.uint8 and frames.shape == (len(indices), 240, 320, 3)
    assert [frame_number(frame) for frame in frames.numpy()] == indices


def test_backends_agree_pixel_for_pixel_within_codec_rounding(numbered_video):
    indices = [0, 4, 8, 13, 17, 21, 25, 29, 34, 38, 42, 46, 51, 55, 59, 63]  # a 16 x 4.2 training clip
    pyav, decord = (read_frames(str(numbered_video), indices, backend).int() for backend in VIDEO_BACKENDS)
    difference = (pyav - decord).abs()
    # Same decoded pictures; only the YUV->RGB conversions (FFmpeg 8 in PyAV, 4.1 in decord) may round apart.
    assert difference.float().mean() < 1.0 and difference.max() <= 8
    original = torch.from_numpy(numbered_frames(NUM_FRAMES)[indices]).int()
    assert (pyav - original).abs().float().mean() < 6  # and both are the frames that were encoded


@pytest.mark.parametrize("video_backend", VIDEO_BACKENDS)
def test_indices_past_the_last_frame_are_clamped(numbered_video, video_backend):
    frames = read_frames(str(numbered_video), [68, 69, 70, 500], video_backend)
    assert [frame_number(frame) for frame in frames.numpy()] == [68, 69, 69, 69]


@pytest.mark.parametrize("video_backend", VIDEO_BACKENDS)
def test_undecodable_and_empty_files_name_the_file(tmp_path, video_backend):
    garbage = tmp_path / "garbage [1].avi"
    garbage.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    empty = tmp_path / "empty (2).avi"
    empty.write_bytes(b"")
    for path in (garbage, empty):
        with pytest.raises(VideoDecodeError, match=re.escape(str(path))):
            read_frames(str(path), [0], video_backend)
        for describe in (probe_video, stream_info):
            with pytest.raises(VideoDecodeError, match=re.escape(str(path))):
                describe(str(path))


def test_bad_requests_are_refused(numbered_video):
    with pytest.raises(ValueError, match="video_backend='opencv'"):
        read_frames(str(numbered_video), [0], "opencv")
    with pytest.raises(ValueError, match="non-negative"):
        read_frames(str(numbered_video), [-1])
    with pytest.raises(ValueError, match="no frame indices"):
        read_frames(str(numbered_video), [])


@pytest.mark.slow  # a separate process
def test_decoders_are_not_imported_with_the_package():
    """The GPU machines have neither decoders nor datasets: the model and the transforms must import without them."""
    import subprocess
    import sys

    def imported_after(statement):
        code = f"import sys; {statement}; print(sorted(m for m in ('av', 'decord', 'datasets') if m in sys.modules))"
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert imported_after("import hf_video, hf_video.clips.clip_transform, hf_video.clips.collate; "
                          "from hf_video.clips import ClipSettings") == "[]"
    assert imported_after("from hf_video.data import load_hmdb51") == "['datasets']"


def test_written_video_is_replaced_atomically(tmp_path):
    path = tmp_path / "clip.avi"
    write_numbered_video(path, 5)
    assert path.is_file() and not (tmp_path / "clip.avi.partial").exists()
    with pytest.raises(ValueError, match="even frame size"):
        from hf_video.data.video_writing import write_mpeg4_avi
        write_mpeg4_avi(str(tmp_path / "odd.avi"), np.zeros((2, 11, 10, 3), np.uint8))


def test_pyav_seeks_land_right_from_every_starting_frame(numbered_video):
    """Every clip start, so that every kind of first frame is met: keyframes, P-frames, and B-frames shown before
    a keyframe that follows them in decoding order (which need the previous group of pictures), with the B-frames
    between the wanted frames left undecoded."""
    for start in range(NUM_FRAMES - 9):
        indices = [start, start + 3, start + 4, start + 9]
        frames = read_frames(str(numbered_video), indices, "pyav")
        assert [frame_number(frame) for frame in frames.numpy()] == indices, start


def test_files_ffmpeg_refuses_say_why(tmp_path):
    """A Y4M header stating 60000 x 60000 frames (FFmpeg's error reads "Device or resource busy") and an MP4 cut off
    before its index (FFmpeg finds "no video stream"): each named for what it is."""
    huge = tmp_path / "huge.y4m"
    huge.write_bytes(b"YUV4MPEG2 W60000 H60000 F30:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000))
    for read in (probe_video, stream_info):
        with pytest.raises(VideoDecodeError, match=re.escape(str(huge)) + r": cannot open as a video: its header "
                                                                          r"states 60000 x 60000 frames, beyond"):
            read(str(huge))
    write_video(tmp_path / "whole.mp4", numbered_frames(20), fps=30, video_format="h264_mp4")
    data = (tmp_path / "whole.mp4").read_bytes()
    moov = data.find(b"moov")
    assert moov > data.find(b"mdat") > 0  # the index at the end, as most recorders write it
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:moov + 12])
    for read in (probe_video, stream_info, lambda path: read_frame_list(path, [0])):
        with pytest.raises(VideoDecodeError, match=re.escape(str(cut)) + r": an MP4 without its index \(moov box\): "
                                                                         r"the file was cut off"):
            read(str(cut))
