"""Reading frames with decord (the `decord` backend of `video_io`): sequentially from the first frame, never seeking,
on the containers and files where it is tested exact; PyAV's packet list gives the frame count."""

from .mp4_boxes import edit_list_segments
from .pyav_container import open_pyav
from .pyav_reader import Decoded, check_prepared_count, decodable_count, listed_packets, pick_frames
from .video_sources import InMemoryVideo, VideoDecodeError, file_bytes


def _decord_cannot(path, codec: str, formats: list) -> str:
    """Why decord cannot open a file PyAV opens, where it is one of the known causes."""
    if codec == "av1":
        return ": decord 0.6 has no AV1 decoder"
    if {"matroska", "webm"} & set(formats) and _MATROSKA_CUES not in file_bytes(path):
        return (": decord needs a WebM/Matroska file's index (Cues), which this file lacks (a live or streaming "
                "muxer wrote it)")
    return ""


_MATROSKA_CUES = b"\x1c\x53\xbb\x6b"  # the Cues element's ID


# FFmpeg's names of the containers where decord is tested exact (tests/test_video_corpus.py).
_DECORD_EXACT_CONTAINERS = frozenset({"avi", "mov", "mp4", "matroska", "webm"})


def read_frames_decord(path: str, indices: list, num_frames: int | None) -> list:
    # In a try block, so that transformers' remote-code loader does not count decord as required by this file.
    try:
        import decord
    except ImportError as error:
        raise ImportError("video_backend='decord' needs the decord package (pip install 'tada-video[data]', or pip "
                          "install decord); video_backend='pyav' needs only av.") from error

    container, stream = open_pyav(path)
    try:
        if not _DECORD_EXACT_CONTAINERS.intersection(container.format.name.split(",")):
            raise VideoDecodeError(f"{path}: decord is exact only on AVI, MP4/MOV and Matroska/WebM files; this is "
                                   f"{container.format.long_name or container.format.name} (decord shifts the frames "
                                   "of MPEG program and transport streams): read it with video_backend='pyav'.")
        formats = container.format.name.split(",")
        segments = edit_list_segments(path) if {"mov", "mp4"} & set(formats) else 1
        if segments > 1:
            raise VideoDecodeError(f"{path}: its edit list shows {segments} separate parts of the stream, and decord "
                                   "shows only the last part's frames from the first index on (frame k would be "
                                   "another frame): read it with video_backend='pyav', which follows the edit list.")
        codec = stream.codec_context.codec.canonical_name  # "av1" whichever decoder PyAV has
        # decord's own count includes frames an edit list discards and frames that never decode: PyAV's is used.
        packets, counted, _ = listed_packets(path, container, stream)
        prepared = num_frames is not None
        if prepared:
            check_prepared_count(path, num_frames, sum(not packet.discard for packet in packets))
        else:
            num_frames = counted if counted is not None else \
                decodable_count(path, container, stream, packets)[0]
    finally:
        container.close()
    if num_frames == 0:
        raise VideoDecodeError(f"{path}: no frame could be decoded.")
    try:
        reader = decord.VideoReader(path.open() if isinstance(path, InMemoryVideo) else path, ctx=decord.cpu(0),
                                    num_threads=1)
    except (decord.DECORDError, RuntimeError) as error:  # decord raises a bare RuntimeError for unreadable files
        raise VideoDecodeError(f"{path}: decord cannot open it{_decord_cannot(path, codec, formats)} ({error}); "
                               "read it with video_backend='pyav', which does.") from error
    decoded = Decoded()
    wanted = {min(index, num_frames - 1) for index in indices}
    frames_read = 0
    try:
        for index in range(max(wanted) + 1):
            frame = reader.next()  # sequential only: decord's seeks are wrong with B-frames (module docstring)
            frames_read += 1
            if index in wanted:
                decoded.frames[index] = frame.asnumpy()
    except (decord.DECORDError, StopIteration):
        pass  # decord stopped early: said below
    finally:
        del reader
    if len(decoded.frames) < len(wanted):
        counted = f"the {num_frames} counted when the dataset was prepared" if prepared else \
            f"the {num_frames} the file shows"
        raise VideoDecodeError(f"{path}: decord gave {frames_read} frames, fewer than {counted}: the file changed "
                               "since, or decord cannot read it; prepare the dataset again, or read it with "
                               "video_backend='pyav'.")
    return pick_frames(path, indices, num_frames - 1, decoded, prepared)
