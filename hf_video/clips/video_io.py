"""Video decoding behind one small interface: `probe_video` / `stream_info` (what a file holds) and `read_frames` /
`read_frame_list` (some of its frames).

The promise, for both backends (`video_backend="pyav"` or `"decord"`) and any file FFmpeg demuxes: frame `k` is the
k-th frame a plain sequential decode shows (edit lists and discarded packets honoured), as displayed (turned by the
stream's display rotation, as players, FFmpeg and decord show it), or `VideoDecodeError` names the file and the
index. Only indices past the last decodable frame are clamped to it. Frames are uint8 RGB.

- `pyav` (default, faster): one pass over the packets (no decoding; or none, given the packet list stored when the
  dataset was prepared) lists the stream's frames in display order by their presentation timestamps; a read starts
  at the last keyframe shown at or before the first wanted frame, feeds the decoder from that keyframe (frames shown
  before it, which may need an earlier group of pictures, are never used), identifies every decoded frame by its
  timestamp and converts only the wanted ones to RGB (with a colour converter kept per thread). A seek is checked
  where it landed (the packet that comes next), not where it was asked to land; when a container seeks inexactly
  (MPEG-TS), the read starts again from the beginning of the file.
  MPEG-4 Part 2 (DivX/XviD) in AVI, HMDB51's and UCF101's format, needs more: AVI stores no presentation
  timestamps, so with B-frames the container's timestamps follow decoding order, and DivX/XviD often store B-frames
  "packed" (a B-frame inside the packet before it, then a placeholder packet that the index may flag as a keyframe).
  There the packets are unpacked first (FFmpeg's `mpeg4_unpack_bframes`), keyframes are the I-frames found in the
  bitstream, and the display order is worked out from the frame types (a B-frame is shown at once, an I- or P-frame
  when the next one arrives), which is how the decoder shows them. A decoder that gives frames out of the display
  order so worked out is an error, never a silent shift.
- `decord`: decord 0.6 returns wrong frames after any seek in MPEG-4 AVI with B-frames (frame 11 comes back as
  frame 1, measured on files like HMDB51's), and shifted frames even sequentially in MPEG-TS and MPEG program
  streams. So this backend never seeks (it decodes forward from the first frame and keeps the wanted ones), reads
  only the containers where it is tested exact (AVI, MP4/MOV, Matroska/WebM), and takes the frame count from PyAV,
  since its own counts discarded frames.

Nothing is opened at import time and no reader outlives a call, so DataLoader workers open their own files (decord
readers made in the parent process deadlock forked workers) and repeated reads do not accumulate readers.
A reader given `num_frames` (the count measured when the dataset was prepared) also checks that the file still
holds that many frames. Every reader takes a path to a local regular file or an `InMemoryVideo` (a file's bytes;
`video_source` makes one from a `datasets.Video(decode=False)` value), with the same frames; a URL, an FFmpeg protocol
or a FIFO is refused before FFmpeg sees it.
"""

import io
import os
import re
import stat
import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

VIDEO_BACKENDS = ("pyav", "decord")
DEFAULT_VIDEO_BACKEND = "pyav"


class VideoDecodeError(RuntimeError):
    """A video file could not be opened or decoded; the message names the file and the reason."""


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int  # frames a sequential decode shows
    fps: float
    width: int  # as displayed: a stream turned by 90 or 270 degrees swaps its coded width and height
    height: int
    container_frames: int = 0  # the frame count the container's header states (0: none); it can over-report
    packets: dict | None = None  # `packet_columns` of the stream (probe_video), stored at prepare to save a demux
    rotation: int = 0  # degrees (0, 90, 180, 270) the coded frames are turned anticlockwise to be displayed


def check_video_backend(video_backend: str) -> str:
    if video_backend not in VIDEO_BACKENDS:
        raise ValueError(f"video_backend={video_backend!r}: expected one of {', '.join(VIDEO_BACKENDS)}.")
    return video_backend


@dataclass(frozen=True)
class InMemoryVideo:
    """A video file's bytes, readable wherever a path is (e.g. a `datasets.Video(decode=False)` value with bytes, as
    the export embeds them): every reader takes one in place of a path; messages name it by `name`."""

    data: bytes
    name: str = "<video in memory>"

    def __str__(self):
        return self.name

    def open(self):
        return io.BytesIO(self.data)


def video_source(value):
    """A path, an `InMemoryVideo`, or a `datasets.Video(decode=False)` value ({"path", "bytes"}): what the readers
    take. Such a value must hold bytes (an export embeds every video): its path is only the video's name, and a row
    that names a file instead is not followed (a crafted export could make training open any file); the one exception,
    a relative path read under a `video_root` the user gives, is `VideoClipTransform`'s."""
    if isinstance(value, dict):
        if value.get("bytes"):
            return InMemoryVideo(value["bytes"], value.get("path") or InMemoryVideo.name)
        raise ValueError(f"video={str(value)[:200]}: the row holds no video bytes (an export embeds every video); "
                         "its path is not followed. Export the dataset again, or read the files with the prepared "
                         "dataset itself.")
    return value


def check_local_file(path) -> int:
    """The size of the regular file at `path`, or `VideoDecodeError`: the readers open local files only, never what
    FFmpeg would take a string for (a URL or a protocol such as `tcp:` or `concat:`) and never a FIFO or device,
    whose read blocks forever."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        scheme = _URL_SCHEME.match(os.fspath(path))
        if scheme:
            raise VideoDecodeError(f"{path}: a {scheme[1]}: address, not a file; the readers open local files (and "
                                   "bytes, InMemoryVideo). The video processor downloads http(s) URLs.") from None
        raise VideoDecodeError(f"{path}: no such file.") from None
    except OSError as error:
        raise VideoDecodeError(f"{path}: cannot be read ({error.strerror or error}).") from error
    if not stat.S_ISREG(status.st_mode):
        kind = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file (a FIFO, device or socket)"
        raise VideoDecodeError(f"{path}: {kind}; pass a video file.")
    return status.st_size


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters at least: "C:" is a Windows drive


def _open_pyav(path):
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
        if _is_mp4_without_index(path):
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
    return f"FFmpeg does not read it, a damaged file or not a video (FFmpeg: {getattr(error, 'strerror', None) or error})"


def _is_mp4_without_index(path) -> bool:
    """An MP4/MOV file (its first box `ftyp`) whose top level holds no complete `moov` box."""
    data = _file_bytes(path)
    if data[4:8] != b"ftyp":
        return False
    position = 0
    while position + 8 <= len(data):
        size = int.from_bytes(data[position:position + 4], "big")
        if size == 1:
            size = int.from_bytes(data[position + 8:position + 16], "big")
        if data[position + 4:position + 8] == b"moov":
            return size == 0 or position + size > len(data)
        if size < 8:
            return True
        position += size
    return True


_converters = threading.local()  # the converter's state is not safe to share: one per thread


def _rgb(frame) -> np.ndarray:
    """A decoded frame as a uint8 (H, W, 3) RGB array, as displayed: the pixels of `frame.to_ndarray(format="rgb24")`
    through one colour converter kept per thread, on one thread, then turned by the frame's display rotation.
    `to_ndarray` builds a new converter for every frame and lets it start a thread per core: 0.3 ms a frame for
    320x240 against 0.03 ms with the kept one."""
    converter = getattr(_converters, "rgb", None)
    if converter is None:
        from av.video.reformatter import VideoReformatter

        converter = _converters.rgb = VideoReformatter()
    turns = _quarter_turns(frame.rotation)
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


def _quarter_turns(rotation) -> int:
    """Anticlockwise quarter turns that display a frame whose display matrix turns it by `rotation` degrees."""
    if rotation % 90:
        raise _UnsupportedRotation(rotation)
    return int(rotation) // 90 % 4


class _UnsupportedRotation(ValueError):
    def __init__(self, rotation):
        super().__init__(rotation)
        self.rotation = rotation


class _Packet(NamedTuple):  # a tuple: thousands are made per read from a stored packet list
    """What a packet that carries a frame tells about it, without decoding it."""

    pts: int  # the timestamp the decoded frame carries
    dts: int | None
    keyframe: bool  # decoding can start here
    discard: bool  # before an edit list's start: decoded for reference, never shown
    display: int  # orders the frames as shown: `pts`, except where the container's timestamps follow decoding order


PACKET_FIELDS = _Packet._fields


def _unpacks_b_frames(container, stream) -> bool:
    """MPEG-4 Part 2 (DivX, XviD) in AVI: B-frames may be packed, and the timestamps follow decoding order."""
    return stream.codec_context.name == "mpeg4" and "avi" in container.format.name.split(",")


def _demuxed(container, stream):
    """The stream's packets as the decoder is fed them, ending with the end-of-stream packet: DivX/XviD packed
    B-frames unpacked (one frame per packet, no placeholder packets)."""
    if not _unpacks_b_frames(container, stream):
        yield from container.demux(stream)
        return
    from av.bitstream import BitStreamFilterContext

    unpack = BitStreamFilterContext("mpeg4_unpack_bframes", stream)
    for packet in container.demux(stream):
        if packet.size:
            yield from unpack.filter(packet)
        else:
            yield from unpack.filter(None)  # what the filter still holds
            yield packet


_VOP_START = b"\x00\x00\x01\xb6"
_VOP_TYPES = "IPBS"  # vop_coding_type: intra, predicted, bidirectional, sprite (predicted)


def _vop_type(packet) -> str:
    """The frame type of an MPEG-4 Part 2 packet's picture ("?" if it holds none), read from its VOP header."""
    data = bytes(packet)
    start = data.find(_VOP_START)
    return _VOP_TYPES[data[start + 4] >> 6] if 0 <= start < len(data) - 4 else "?"


def _packet_list(path, container, stream, each=None) -> list:
    """The stream's packets that carry a frame, in decoding order, from one pass over the file; `each(packet)` sees
    every packet of the pass (the probe decodes them as they come). Two shown frames with one timestamp are an
    error: nothing then says which is shown first."""
    unpacked = _unpacks_b_frames(container, stream)
    described = []
    for packet in _demuxed(container, stream):
        if packet.pts is not None and packet.size:
            described.append((packet.pts, packet.dts, packet.is_keyframe, packet.is_discard,
                              _vop_type(packet) if unpacked else None))
        if each is not None:
            each(packet)
    if unpacked:
        packets = _typed_packet_list([(pts, dts, frame_type) for pts, dts, _, _, frame_type in described])
    else:
        packets = [_Packet(pts, dts, keyframe, discard, pts) for pts, dts, keyframe, discard, _ in described]
    _check_unique_timestamps(path, packets)
    return packets


def _check_unique_timestamps(path, packets: list) -> None:
    position_of = {}
    for position, packet in enumerate(packets):
        if packet.discard:
            continue
        if packet.pts in position_of:
            raise VideoDecodeError(
                f"{path}: two frames carry the same presentation timestamp {packet.pts} (packets "
                f"{position_of[packet.pts]} and {position} in decoding order), so the container does not say which "
                "is shown first and frames cannot be numbered exactly. Re-encode it (ffmpeg -i IN -c:v libx264 "
                "OUT.mp4), which gives every frame its own timestamp.")
        position_of[packet.pts] = position


def _decoder_orders(container, stream) -> bool:
    """Whether only a decode tells the display order: AVI stores timestamps in decoding order, so for a codec that
    reorders frames (H.264 or MPEG-2 with B-frames) the order the decoder gives them out is the display order.
    (MPEG-4 Part 2 in AVI is read from its frame types instead: `_typed_packet_list`.)"""
    return "avi" in container.format.name.split(",") and stream.codec_context.name != "mpeg4" \
        and bool(stream.codec_context.has_b_frames)


def _listed_packets(path, container, stream) -> tuple[list, int | None, float | None]:
    """(The packet list a read numbers frames by, the count of frames shown and the first one's rotation where it
    took a full decode, else None, None). Where only a decode tells the display order (`_decoder_orders`), every
    packet is decoded; elsewhere the packets are listed without decoding, and those shown before the first frame a
    decode gives (a cut that kept the non-keyframes before its first keyframe) are marked as never shown."""
    if _decoder_orders(container, stream):
        return _packet_list_and_count(path, container, stream)
    return _without_undecodable_lead(path, _packet_list(path, container, stream)), None, None


def _without_undecodable_lead(path, packets: list) -> list:
    """`packets` with those shown before the first frame a decode from the start gives marked as discarded: a
    decoder drops frames whose references are missing (FFmpeg shows 57 frames of a stream-copy cut that kept 62
    packets). Decodes only where the first packet is not a keyframe shown first, and only up to the first frame."""
    shown = [packet for packet in packets if not packet.discard]
    if not shown or (packets[0].keyframe and min(packet.display for packet in shown) >= packets[0].display):
        return packets
    container, stream = _open_pyav(path)
    try:
        first_label = next((frame.pts for packet in _demuxed(container, stream)
                            for frame in stream.codec_context.decode(packet)), None)
    finally:
        container.close()
    first_display = next((packet.display for packet in shown if packet.pts == first_label), None)
    if first_display is None:
        return packets  # nothing decodes, or under a label no packet has: the count says so later
    return [packet._replace(discard=True) if not packet.discard and packet.display < first_display else packet
            for packet in packets]


def _typed_packet_list(typed: list) -> list:
    """Packets from (pts, dts, frame type) in decoding order, where the timestamps follow decoding order: keyframes
    are the I-frames (a placeholder the index flags as a keyframe would start a read on a grey frame), and each frame
    is shown where the decoder's reordering puts it (a B-frame at once, an I- or P-frame when the next one comes)."""
    shown_order, held = [], None
    for position, (_, _, frame_type) in enumerate(typed):
        if frame_type == "B":
            shown_order.append(position)
            continue
        if held is not None:
            shown_order.append(held)
        held = position
    if held is not None:
        shown_order.append(held)
    display = dict(zip(shown_order, sorted(pts for pts, _, _ in typed)))
    return [_Packet(pts, dts, frame_type == "I", False, display[position])
            for position, (pts, dts, frame_type) in enumerate(typed)]


def packet_columns(packets: list) -> dict:
    """A stream's packet list as the column the builders store at prepare: {field: [value per packet]}."""
    return {name: [getattr(packet, name) for packet in packets] for name in PACKET_FIELDS}


def _packets_from_columns(path: str, columns: dict) -> list:
    try:
        return list(map(_Packet._make, zip(*(columns[name] for name in PACKET_FIELDS), strict=True)))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: packets={str(columns)[:200]} is not a packet list as `packet_columns` writes it "
                         f"({error}); prepare the dataset again.") from error


class _FrameOrder(NamedTuple):
    """The frames a decode shows: the timestamps they carry in display order (frame i carries the i-th), and each
    timestamp's frame index. Made once per read."""

    timestamps: list
    index_of: dict


def _frame_order(packets: list) -> _FrameOrder:
    timestamps = [packet.pts for packet in sorted((packet for packet in packets if not packet.discard),
                                                  key=lambda packet: packet.display)]
    return _FrameOrder(timestamps, {timestamp: index for index, timestamp in enumerate(timestamps)})


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

    container, stream = _open_pyav(path)
    try:
        if decode:
            packets, num_frames, rotation = _packet_list_and_count(path, container, stream)
        else:
            packets, num_frames, rotation = _listed_packets(path, container, stream)
            if num_frames is None:
                num_frames, rotation = _decodable_count(path, container, stream, packets)
        rate = stream.average_rate or stream.guessed_rate
        width, height = stream.codec_context.width, stream.codec_context.height
        promised = stream.frames
    except av.FFmpegError as error:
        raise VideoDecodeError(f"{path}: {'decoding' if decode else 'reading the stream'} failed ({error}).") from error
    finally:
        container.close()
    if num_frames == 0:
        raise VideoDecodeError(f"{path}: no frame could be decoded.")
    if not rate or rate <= 0:
        raise VideoDecodeError(f"{path}: the video stream has no frame rate.")
    rotation = _checked_rotation(path, rotation) * 90
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(num_frames=num_frames, fps=float(rate), width=width, height=height,
                     container_frames=max(promised, 0), packets=packet_columns(packets), rotation=rotation)


def _checked_rotation(path, rotation) -> int:
    try:
        return _quarter_turns(rotation)
    except _UnsupportedRotation as error:
        raise _rotation_error(path, error) from None


def _rotation_error(path, error: "_UnsupportedRotation") -> VideoDecodeError:
    return VideoDecodeError(f"{path}: the stream is displayed turned by {error.rotation} degrees, not a multiple of "
                            "90; such frames cannot be shown exactly. Re-encode it with the rotation applied "
                            "(ffmpeg -i IN -c:v libx264 OUT.mp4 applies it).")


def _packet_list_and_count(path: str, container, stream) -> tuple[list, int, float]:
    """`_packet_list` (packets whose frame the decode did not show marked as discarded), the number of frames a
    sequential decode shows and the first frame's display rotation, from one pass that decodes every packet. The
    frames must come out in the display order the packet list gives."""
    codec, labels, rotations = stream.codec_context, [], []

    def decode(packet):
        for frame in codec.decode(packet):
            if not labels:
                rotations.append(frame.rotation)
            labels.append(frame.pts)

    packets = _packet_list(path, container, stream, each=decode)
    if _decoder_orders(container, stream):  # the order the decoder gave the frames out is the display order
        shown_at = {label: position for position, label in enumerate(labels)}
        packets = [packet._replace(display=shown_at.get(packet.pts, -1)) for packet in packets]
    rotation = rotations[0] if rotations else 0
    # A packet whose frame never came out (damaged, or a placeholder that carries none) is not shown: marked so, the
    # stored list numbers the frames as the decode showed them.
    seen = set(labels)
    packets = [packet if packet.discard or packet.pts in seen else packet._replace(discard=True)
               for packet in packets]
    index_of = _frame_order(packets).index_of
    shown = [index_of[label] for label in labels if label in index_of]
    if any(later <= earlier for earlier, later in zip(shown, shown[1:])):
        raise _out_of_order(path, container, stream)
    return packets, len(shown), rotation


def _out_of_order(path, container, stream) -> VideoDecodeError:
    return VideoDecodeError(
        f"{path}: the decoder shows the frames in another order than the container's timestamps give "
        f"({stream.codec_context.name} in {container.format.name}); frames cannot be numbered exactly. Re-encode it "
        "(ffmpeg -i IN -c:v libx264 OUT.mp4).")


def _decodable_count(path: str, container, stream, packets: list) -> tuple[int, float]:
    """(How many frames a sequential decode shows, the last one's display rotation): every frame before the last
    keyframe, plus those that decode from it (a file can promise a last frame that does not decode)."""
    order = _frame_order(packets)
    if not order.timestamps:
        return 0, 0
    start = _start_keyframe(packets, order, len(order.timestamps) - 1)
    decoded = _decode_from(path, container, stream, packets, start, order, wanted=None)
    before_start = order.index_of.get(packets[start].pts, 0)
    rotation = decoded.last_frame.rotation if decoded.last_frame is not None else 0
    return before_start + decoded.num_shown_from_start, rotation


def _start_keyframe(packets: list, order: _FrameOrder, first_index: int) -> int:
    """Position (in decoding order) of the last keyframe shown at or before frame `first_index`: frames from it on
    decode without any earlier packet. 0 (the first packet) when there is none."""
    return max((position for position, packet in enumerate(packets)
                if packet.keyframe and order.index_of.get(packet.pts, first_index + 1) <= first_index), default=0)


class _Decoded:
    """The outcome of decoding from a start keyframe: the wanted frames found, and what the decode saw."""

    def __init__(self):
        self.frames = {}  # index -> RGB array
        self.last_index = None  # the last frame shown before the stream ended, if it did
        self.last_frame = None
        self.num_shown_from_start = 0
        self.reached_end = False


def _decode_from(path: str, container, stream, packets: list, start: int, order: _FrameOrder, wanted, skip=False,
                 untouched=False):
    """Decode from keyframe `packets[start]` on, collecting the frames at the indices `wanted` (None: count the frames
    to the end). Frames are identified by their timestamps; frames shown before the start keyframe are never used
    (they may need an earlier group of pictures). With `skip`, frames that no other frame refers to are left
    undecoded unless wanted (about half of an IBBP stream with interval sampling), with the decoders where that is
    tested exact.

    The demuxer is positioned by a seek to the start keyframe, checked where it landed; if it landed after it (or
    somewhere unknown: containers such as MPEG-TS seek inexactly), the file is read again from its beginning.
    `untouched`: nothing was demuxed from `container` yet, so a decode from the first keyframe starts there."""
    position_of = {(packet.pts, packet.dts): position for position, packet in enumerate(packets)}
    start_packet = packets[start]
    wanted_pts = None if wanted is None else {order.timestamps[index]: index for index in wanted}
    skip = skip and stream.codec_context.name in _SKIPS_EXACTLY
    keyframe_pts = {packet.pts for packet in packets if packet.keyframe}
    feed = (position_of, start, start_packet.pts, keyframe_pts, order.index_of, wanted_pts, skip)
    if start > 0:
        target = start_packet.dts if start_packet.dts is not None else start_packet.pts
        container.seek(target, stream=stream, backward=True, any_frame=False)
    if start > 0 or untouched:  # try where the container stands before reading the file again
        outcome = _feed_decoder(path, container, stream, *feed)
        if outcome is not None:
            return outcome
    reopened, reopened_stream = _open_pyav(path)  # from the beginning: the packets before the start are skipped
    try:
        outcome = _feed_decoder(path, reopened, reopened_stream, *feed)
    finally:
        reopened.close()
    if outcome is None:
        raise VideoDecodeError(f"{path}: the packet at timestamp {start_packet.pts} was not found when reading the "
                               "file again; it may be damaged.")
    return outcome


# Decoders whose "skip non-reference frames" leaves every other frame as a full decode shows it (tested on the corpus).
# Not AV1's: libdav1d then loses frames that are shown (the last frame of an SVT-AV1 stream came back as the one
# before it).
_SKIPS_EXACTLY = frozenset({"mpeg4", "h264", "mpeg2video", "mpeg1video"})


def _feed_decoder(path, container, stream, position_of, start, start_pts, keyframe_pts, index_of, wanted_pts, skip):
    """Demux from wherever the container stands, skip to the start packet, decode from it. None if the demuxer
    stands after the start packet or somewhere this file's packet list does not know."""
    codec = stream.codec_context
    remaining = None if wanted_pts is None else set(wanted_pts)
    result = _Decoded()
    feeding = start_shown = False
    start_index = index_of.get(start_pts, 0)
    skip_mode = codec.skip_frame = "DEFAULT"
    try:
        for packet in _demuxed(container, stream):
            if not feeding:
                if not packet.size:
                    break  # the end of the file (its flush packet) before the start packet
                position = position_of.get((packet.pts, packet.dts))
                if position is None or position > start:
                    return None
                if position < start:
                    continue
                feeding = True
                codec.flush_buffers()
            mode = "NONREF" if skip and packet.pts is not None and packet.pts not in wanted_pts else "DEFAULT"
            if mode != skip_mode:  # setting it costs more than comparing
                codec.skip_frame = skip_mode = mode
            for frame in codec.decode(packet):
                label = frame.pts
                if frame.key_frame and not start_shown:
                    # Decoders started at an open-GOP keyframe can label its picture with a later frame's timestamp
                    # (MPEG-2: the next P-frame's); the first keyframe out, under a label no keyframe has, is it.
                    start_shown = True
                    if label not in keyframe_pts:
                        label = start_pts
                index = index_of.get(label)
                if index is None or index < start_index:
                    continue  # discarded, or shown before the start keyframe (it may need earlier pictures)
                if result.last_index is not None and index <= result.last_index:
                    raise _out_of_order(path, container, stream)
                result.num_shown_from_start += 1
                result.last_index, result.last_frame = index, frame
                if remaining is not None and label in remaining:
                    result.frames[index] = _rgb(frame)
                    remaining.discard(label)
                    if not remaining:
                        return result
    except _UnsupportedRotation as error:
        raise _rotation_error(path, error) from None
    finally:
        codec.skip_frame = "DEFAULT"
    if not feeding:
        return None
    result.reached_end = True
    return result


def read_frames(path: str, indices, video_backend: str = DEFAULT_VIDEO_BACKEND,
                num_frames: int | None = None, packets: dict | None = None) -> torch.Tensor:
    """The frames at `indices` (any order, repeats allowed) as uint8 (len(indices), H, W, 3), RGB: frame k is the
    k-th frame a sequential decode shows; indices past the last decodable frame give that frame.

    `num_frames`: the frame count measured when the dataset was prepared. Given, indices from it on are past the end,
    and a wanted frame the decoder does not give raises `VideoDecodeError`.
    `packets`: the packet list stored at prepare (`VideoInfo.packets`); PyAV then skips its pass over the file."""
    return torch.from_numpy(np.stack(read_frame_list(path, indices, video_backend, num_frames, packets)))


def read_frame_list(path: str, indices, video_backend: str = DEFAULT_VIDEO_BACKEND,
                    num_frames: int | None = None, packets: dict | None = None) -> list:
    """Like `read_frames`, as a list of uint8 (H, W, 3) arrays (repeated indices share one array): the clip
    operations crop each frame as they convert it, which saves stacking full frames first."""
    check_video_backend(video_backend)
    indices = [int(index) for index in indices]
    if not indices:
        raise ValueError(f"{path}: no frame indices requested.")
    if min(indices) < 0:
        raise ValueError(f"{path}: frame indices must be non-negative; got {min(indices)}.")
    if num_frames is not None and (isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1):
        raise ValueError(f"{path}: num_frames={num_frames!r}: expected the positive frame count of the video.")
    if video_backend == "decord":
        return _read_frames_decord(path, indices, num_frames)
    stored = None if packets is None else _packets_from_columns(path, packets)
    return _read_frames_pyav(path, indices, num_frames, stored)


def changed_since_prepared(path: str, what: str) -> VideoDecodeError:
    """The error for a file that is no longer what the dataset was prepared from."""
    return VideoDecodeError(f"{path}: {what}. The file changed since; prepare the dataset again (remove its cache, or "
                            "load it with download_mode='force_redownload').")


def check_unchanged(path: str, file_size: int, file_mtime_ns: int) -> None:
    """Raise `VideoDecodeError` if the file's size or modification time is not what was recorded at prepare."""
    try:
        status = os.stat(path)
    except OSError as error:
        raise changed_since_prepared(path, f"it cannot be read ({error.strerror or error})") from error
    if (status.st_size, status.st_mtime_ns) != (file_size, file_mtime_ns):
        raise changed_since_prepared(path, f"its size or modification time differs from when the dataset was prepared "
                                           f"({status.st_size} bytes now, {file_size} then)")


def _pick(path: str, indices: list, last_index: int, decoded: "_Decoded", prepared: bool) -> list:
    """The frame of every requested index (clamped to `last_index`), or an error naming the first that is missing.
    A decode that reached the end of the stream ends the video where it ended."""
    picked = []
    for index in indices:
        clamped = min(index, last_index)
        if clamped not in decoded.frames and decoded.reached_end and decoded.last_index is not None \
                and clamped > decoded.last_index and not prepared:
            decoded.frames[clamped] = _rgb(decoded.last_frame)  # past the decodable end
        if clamped not in decoded.frames:
            # What happened, not a guess: the size and time check (`check_unchanged`) is what says "changed".
            ended = f" (the stream ended after frame {decoded.last_index})" if decoded.reached_end else ""
            counted = " counted when the dataset was prepared" if prepared else ""
            raise VideoDecodeError(f"{path}: the decoder did not give frame {clamped} of the {last_index + 1}"
                                   f"{counted}{ended}. The file is damaged{', changed since' if prepared else ''}, "
                                   "or this backend cannot read it exactly: try the other video_backend"
                                   f"{', or prepare the dataset again' if prepared else ''}.")
        picked.append(decoded.frames[clamped])
    return picked


def _read_frames_pyav(path: str, indices: list, num_frames: int | None, packets: list | None) -> list:
    import av

    container, stream = _open_pyav(path)
    stored = packets is not None
    try:
        if not stored:
            packets, _, _ = _listed_packets(path, container, stream)
        order = _frame_order(packets)
        shown = order.timestamps
        if not shown:
            raise VideoDecodeError(f"{path}: the video stream holds no frames.")
        if num_frames is not None:
            _check_prepared_count(path, num_frames, len(shown))
        last_index = (num_frames or len(shown)) - 1
        wanted = sorted({min(index, last_index) for index in indices})
        start = _start_keyframe(packets, order, wanted[0])
        decoded = _decode_from(path, container, stream, packets, start, order, wanted, skip=True,
                               untouched=stored)
        if len(decoded.frames) < len(wanted) and decoded.reached_end and num_frames is None:
            # The end of the video is unknown, and frames left undecoded by the skipping might be it: decode them all,
            # from a fresh container (a drained one does not give every frame again with every decoder).
            # (With the prepared count, a wanted frame that did not decode is an error however the rest went.)
            container.close()
            container, stream = _open_pyav(path)
            decoded = _decode_from(path, container, stream, packets, start, order, wanted, untouched=True)
    except av.FFmpegError as error:
        raise VideoDecodeError(f"{path}: decoding failed ({error}).") from error
    finally:
        container.close()
    return _pick(path, indices, last_index, decoded, prepared=num_frames is not None)


def _check_prepared_count(path, num_frames: int, listed: int) -> None:
    """A prepared count the stream no longer lists is a changed file: reading it would clamp indices to frames the
    count does not know."""
    if num_frames > listed:
        raise VideoDecodeError(f"{path}: the stream lists {listed} frames, but {num_frames} were counted when the "
                               "dataset was prepared: the file or its stored packet list is not the one prepared; "
                               "prepare the dataset again.")


def _decord_cannot(path, codec: str, formats: list) -> str:
    """Why decord cannot open a file PyAV opens, where it is one of the known causes."""
    if codec == "av1":
        return ": decord 0.6 has no AV1 decoder"
    if {"matroska", "webm"} & set(formats) and _MATROSKA_CUES not in _file_bytes(path):
        return (": decord needs a WebM/Matroska file's index (Cues), which this file lacks (a live or streaming "
                "muxer wrote it)")
    return ""


_MATROSKA_CUES = b"\x1c\x53\xbb\x6b"  # the Cues element's ID


def _file_bytes(path) -> bytes:
    if isinstance(path, InMemoryVideo):
        return path.data
    with open(path, "rb") as file:
        return file.read()


def _edit_list_segments(path) -> int:
    """How many parts of the media the first video track's edit list shows (empty edits, which only delay the
    start, not counted) in an MP4/MOV file; 1 without an edit list."""
    moov = _mp4_child(_file_bytes(path), b"moov")
    for kind, trak in _mp4_boxes(moov or b""):
        if kind != b"trak":
            continue
        handler = _mp4_child(_mp4_child(trak, b"mdia") or b"", b"hdlr") or b""
        if handler[8:12] != b"vide":
            continue
        elst = _mp4_child(_mp4_child(trak, b"edts") or b"", b"elst")
        if elst is None or len(elst) < 8:
            return 1
        version, count = elst[0], int.from_bytes(elst[4:8], "big")
        size, time_at = (20, 8) if version == 1 else (12, 4)
        times = [int.from_bytes(elst[8 + entry * size + time_at:8 + entry * size + 2 * time_at], "big", signed=True)
                 for entry in range(count) if 8 + (entry + 1) * size <= len(elst)]
        return max(1, sum(time != -1 for time in times))
    return 1


def _mp4_boxes(data: bytes):
    """(type, payload) of each box in `data`, in order."""
    position = 0
    while position + 8 <= len(data):
        size, kind, header = int.from_bytes(data[position:position + 4], "big"), data[position + 4:position + 8], 8
        if size == 1:
            size, header = int.from_bytes(data[position + 8:position + 16], "big"), 16
        elif size == 0:
            size = len(data) - position
        if size < header:
            return  # damaged: what follows is not boxes
        yield kind, data[position + header:position + size]
        position += size


def _mp4_child(data: bytes, kind: bytes) -> bytes | None:
    return next((payload for found, payload in _mp4_boxes(data) if found == kind), None)


# FFmpeg's names of the containers where decord is tested exact (tests/test_video_corpus.py).
_DECORD_EXACT_CONTAINERS = frozenset({"avi", "mov", "mp4", "matroska", "webm"})


def _read_frames_decord(path: str, indices: list, num_frames: int | None) -> list:
    # In a try block, so that transformers' remote-code loader does not count decord as required by this file.
    try:
        import decord
    except ImportError as error:
        raise ImportError("video_backend='decord' needs the decord package (pip install 'tada-video[data]', or pip "
                          "install decord); video_backend='pyav' needs only av.") from error

    container, stream = _open_pyav(path)
    try:
        if not _DECORD_EXACT_CONTAINERS.intersection(container.format.name.split(",")):
            raise VideoDecodeError(f"{path}: decord is exact only on AVI, MP4/MOV and Matroska/WebM files; this is "
                                   f"{container.format.long_name or container.format.name} (decord shifts the frames "
                                   "of MPEG program and transport streams): read it with video_backend='pyav'.")
        formats = container.format.name.split(",")
        segments = _edit_list_segments(path) if {"mov", "mp4"} & set(formats) else 1
        if segments > 1:
            raise VideoDecodeError(f"{path}: its edit list shows {segments} separate parts of the stream, and decord "
                                   "shows only the last part's frames from the first index on (frame k would be "
                                   "another frame): read it with video_backend='pyav', which follows the edit list.")
        codec = stream.codec_context.codec.canonical_name  # "av1" whichever decoder PyAV has
        # decord's own count includes frames an edit list discards and frames that never decode: PyAV's is used.
        packets, counted, _ = _listed_packets(path, container, stream)
        prepared = num_frames is not None
        if prepared:
            _check_prepared_count(path, num_frames, sum(not packet.discard for packet in packets))
        else:
            num_frames = counted if counted is not None else \
                _decodable_count(path, container, stream, packets)[0]
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
    decoded = _Decoded()
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
    return _pick(path, indices, num_frames - 1, decoded, prepared)
