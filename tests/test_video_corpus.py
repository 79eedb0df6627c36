"""Exact frames or a named error, on every container and codec of the corpus: each backend's frames are held to a
plain sequential decode, the frame counts to the count it shows."""

import random
import re

import numpy as np
import pytest

from hf_video.clips.clip_settings import ClipSettings
from hf_video.clips.sampling import clip_indices
from hf_video.clips.video_io import VideoDecodeError, probe_video, read_frame_list, stream_info
from hf_video.clips.views import eval_frame_indices
from helpers.video_corpus import frame_numbers, sequential_decode, write_corpus

MPEG_TS = ("b_frames.ts", "mpeg2_b_frames.ts")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def references(corpus):
    return {name: sequential_decode(path) for name, path in corpus.items()}


def index_lists(num_frames: int) -> list:
    """At least 30 lists: the first and last frames, random lists (sorted or not, with repeats), the samplers' own
    clips (training and evaluation, interval and segment), and indices past the end."""
    rng = random.Random(num_frames)
    lists = [[0], [num_frames - 1], [0, num_frames - 1], [num_frames - 1, 0], [5, 5, 5], list(range(num_frames))]
    for _ in range(12):
        lists.append([rng.randrange(num_frames) for _ in range(rng.randint(1, 10))])
    for _ in range(4):
        lists.append(sorted(rng.randrange(num_frames) for _ in range(8)))
    for settings in (ClipSettings(num_frames=8, sample_interval=2), ClipSettings(num_frames=8, sample_mode="segment"),
                     ClipSettings(num_frames=4, sample_interval=4, temporal_crops=3)):
        for _ in range(2):
            random.seed(len(lists))
            lists.append(clip_indices(settings, num_frames, 30.0))
        lists.append(eval_frame_indices(settings, num_frames, 30.0))
    lists += [[num_frames], [num_frames - 2, num_frames + 5, 10_000]]
    return lists


def expected_frames(reference: list, indices: list) -> list:
    return [reference[min(index, len(reference) - 1)] for index in indices]


@pytest.mark.parametrize("name", ["hmdb_like.avi", "open_gop.mp4", "edit_list.mp4", "starts_at_2s.mkv", "b_frames.ts",
                                  "mpeg2_b_frames.ts", "vfr.mp4", "vfr.mkv", "gaps.avi", "mjpeg.avi"])
def test_frame_counts_and_pyav_frames_equal_the_sequential_decode(corpus, references, name):
    path, reference = str(corpus[name]), references[name]
    info = probe_video(path)
    assert info.num_frames == stream_info(path).num_frames == len(reference)
    lists = index_lists(len(reference))
    assert len(lists) >= 30
    for indices in lists:
        frames = read_frame_list(path, indices, "pyav")
        assert all(np.array_equal(got, want) for got, want in zip(frames, expected_frames(reference, indices))), \
            (name, indices)
        # With the prepared count, and with the packet list stored at prepare (no pass over the file): the same.
        prepared = read_frame_list(path, indices, "pyav", num_frames=len(reference))
        assert all(np.array_equal(got, want) for got, want in zip(prepared, frames)), (name, indices)
        stored = read_frame_list(path, indices, "pyav", num_frames=len(reference), packets=info.packets)
        assert all(np.array_equal(got, want) for got, want in zip(stored, frames)), (name, indices)


@pytest.mark.parametrize("name", ["hmdb_like.avi", "open_gop.mp4", "edit_list.mp4", "starts_at_2s.mkv", "vfr.mp4",
                                  "vfr.mkv", "gaps.avi", "mjpeg.avi"])
def test_decord_frames_are_the_sequential_decodes(corpus, references, name):
    """decord has its own FFmpeg (4.1): the same pictures, identified by the index each frame carries."""
    path, reference = str(corpus[name]), references[name]
    reference_numbers = frame_numbers(reference)
    for indices in index_lists(len(reference)):
        frames = read_frame_list(path, indices, "decord")
        assert frame_numbers(frames) == frame_numbers(expected_frames(reference, indices)), (name, indices)
        wanted = expected_frames(reference, indices)
        assert max(np.abs(got.astype(int) - want.astype(int)).mean() for got, want in zip(frames, wanted)) < 2
    assert reference_numbers[0] == (15 if name == "edit_list.mp4" else 0)  # the cut really hides its first frames


@pytest.mark.parametrize("name", MPEG_TS)
def test_decord_refuses_mpeg_ts_and_says_what_to_use(corpus, name):
    with pytest.raises(VideoDecodeError, match=re.escape(str(corpus[name])) + ".*MPEG-TS.*video_backend='pyav'"):
        read_frame_list(str(corpus[name]), [0, 5], "decord")


def test_a_file_with_fewer_frames_than_prepared_is_an_error_not_a_frozen_clip(corpus, references, tmp_path):
    """What a video replaced on disk after prepare looks like: the prepared count exceeds what the file holds."""
    path, count = str(corpus["open_gop.mp4"]), len(references["open_gop.mp4"])
    for backend in ("pyav", "decord"):
        with pytest.raises(VideoDecodeError, match=r"60.* 70 .*when the dataset was prepared.*prepare the dataset "
                           r"again"):
            read_frame_list(path, [0, 50, 69], backend, num_frames=70)
        frames = read_frame_list(path, [count - 1, count + 3], backend, num_frames=count)
        assert frame_numbers(frames) == [count - 1, count - 1]


# Pixel formats and sizes the corpus above does not have: planar 4:4:4, 4:2:2, 10-bit, grey, packed RGB, odd sizes.
PIXEL_FORMATS = [("libx264", "mp4", "yuv444p", 97, 71), ("ffv1", "matroska", "yuv420p", 97, 71),
                 ("ffv1", "matroska", "yuv422p", 64, 48), ("ffv1", "matroska", "yuv420p10le", 66, 50),
                 ("ffv1", "matroska", "gray", 51, 37), ("ffv1", "matroska", "bgr0", 40, 30),
                 ("mpeg4", "avi", "yuv420p", 128, 96)]


def test_colour_conversion_gives_to_ndarrays_pixels_across_formats_sizes_and_threads(tmp_path):
    """The reader converts to RGB with one converter kept per thread: a converter that kept a previous video's size
    or format, or one shared between threads, would give other pixels than PyAV's `to_ndarray(format="rgb24")`."""
    import av
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(0)
    videos = {}
    for codec, container_format, pix_fmt, width, height in PIXEL_FORMATS:
        path = tmp_path / f"{pix_fmt}_{codec}.{'mkv' if container_format == 'matroska' else container_format}"
        with av.open(str(path), "w", format=container_format) as container:
            stream = container.add_stream(codec, rate=30)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            for _ in range(12):
                image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(stream.encode())
        videos[str(path)] = sequential_decode(path)
    assert {frames[0].shape for frames in videos.values()} == {(height, width, 3)
                                                               for *_, width, height in PIXEL_FORMATS}

    def read_all(order):
        for path in order:  # alternating formats and sizes in one thread
            indices = [0, 5, 11, 3]
            frames = read_frame_list(path, indices, "pyav")
            assert all(np.array_equal(got, videos[path][index]) for got, index in zip(frames, indices)), path
        return True

    paths = list(videos)
    assert read_all(paths + paths[::-1])
    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(read_all, [paths[shift:] + paths[:shift] for shift in range(8)] * 3))


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_a_prepared_count_two_past_what_the_file_holds_is_named_on_every_file(corpus, references, backend):
    """The row says n + 2, the file decodes n: a changed file, never frames clamped to its last one (decord shows an
    edit list's discarded frames past the end, so its own count cannot be the judge)."""
    for name, path in corpus.items():
        if backend == "decord" and name in MPEG_TS:
            continue
        count = len(references[name])
        stored = probe_video(str(path)).packets
        for packets in ([None, stored] if backend == "pyav" else [None]):
            with pytest.raises(VideoDecodeError, match=re.escape(str(path)) + r".*when the dataset was prepared"):
                read_frame_list(str(path), [0, count, count + 1], backend, num_frames=count + 2, packets=packets)


def test_two_frames_with_one_timestamp_are_named_as_such(tmp_path):
    """An MP4 whose sample table gives two frames one presentation time: FFmpeg plays it, but nothing says which
    frame is shown first. The error says so (not "another order")."""
    import av

    path = tmp_path / "duplicate_timestamps.mp4"
    frames = [np.full((48, 64, 3), 8 * index, np.uint8) for index in range(10)]
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25, options={"bf": "0", "g": "5"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        packets = [packet for image in frames for packet in stream.encode(av.VideoFrame.from_ndarray(image, "rgb24"))]
        packets += list(stream.encode())
        for position, packet in enumerate(packets):
            packet.dts = position
            packet.pts = position + 1 if position == 4 else position  # frames 4 and 5 both at 5
            container.mux(packet)
    for read in (probe_video, stream_info, lambda video: read_frame_list(video, [0, 6], "pyav"),
                 lambda video: read_frame_list(video, [0, 6], "decord")):
        with pytest.raises(VideoDecodeError, match=re.escape(str(path)) + r".*same presentation timestamp"):
            read(str(path))


def test_decord_says_it_needs_the_index_of_a_webm_without_cues(tmp_path):
    """A WebM written by a streaming muxer has no Cues; decord cannot open it, PyAV reads it."""
    import av

    class Unseekable:  # the muxer writes Cues only where it can seek back
        def __init__(self):
            self.data = bytearray()

        def write(self, chunk):
            self.data += bytes(chunk)
            return len(chunk)

    sink = Unseekable()
    with av.open(sink, "w", format="webm") as container:
        stream = container.add_stream("libvpx-vp9", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(12):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * index, np.uint8),
                                                                   "rgb24")))
        container.mux(stream.encode())
    path = tmp_path / "no_cues.webm"
    path.write_bytes(sink.data)
    assert len(read_frame_list(str(path), [0, 11], "pyav")) == 2
    with pytest.raises(VideoDecodeError, match=re.escape(str(path)) + r".*index \(Cues\).*video_backend='pyav'"):
        read_frame_list(str(path), [0, 5], "decord")


def test_the_edit_list_is_read_from_a_file_or_its_bytes_alike():
    """The two-part edit list of the FFmpeg corpus file, found from the path and from the bytes (as an export holds
    them), which decord is then refused for alike; the top-level boxes are walked, the media never read."""
    from hf_video.clips.mp4_boxes import edit_list_segments, is_mp4_without_index
    from hf_video.clips.video_sources import InMemoryVideo
    from helpers.shipped_data import REFERENCE_DIR

    path = REFERENCE_DIR / "video_corpus" / "edit_list_two_segments.mp4"
    data = path.read_bytes()
    assert edit_list_segments(str(path)) == edit_list_segments(InMemoryVideo(data)) == 2
    assert edit_list_segments(str(REFERENCE_DIR / "video_corpus" / "rotated_90.mp4")) == 1
    assert not is_mp4_without_index(InMemoryVideo(data)) and is_mp4_without_index(InMemoryVideo(data[:4000]))
    with pytest.raises(VideoDecodeError, match=r"edit list shows 2 separate parts"):
        read_frame_list(InMemoryVideo(data, "in memory.mp4"), [0], "decord")
