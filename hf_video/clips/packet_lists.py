"""A stream's packets as the readers number its frames: which packets carry a frame that is shown, in which order,
and where decoding can start; from one pass over the file without decoding, or from the list stored at prepare."""

from typing import NamedTuple

from .video_sources import VideoDecodeError


class Packet(NamedTuple):  # a tuple: thousands are made per read from a stored packet list
    """What a packet that carries a frame tells about it, without decoding it."""

    pts: int  # the timestamp the decoded frame carries
    dts: int | None
    keyframe: bool  # decoding can start here
    discard: bool  # before an edit list's start: decoded for reference, never shown
    display: int  # orders the frames as shown: `pts`, except where the container's timestamps follow decoding order


PACKET_FIELDS = Packet._fields


def _unpacks_b_frames(container, stream) -> bool:
    """MPEG-4 Part 2 (DivX, XviD) in AVI: B-frames may be packed, and the timestamps follow decoding order."""
    return stream.codec_context.name == "mpeg4" and "avi" in container.format.name.split(",")


def demuxed(container, stream):
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


def packet_list(path, container, stream, each=None) -> list:
    """The stream's packets that carry a frame, in decoding order, from one pass over the file; `each(packet)` sees
    every packet of the pass (the probe decodes them as they come). Two shown frames with one timestamp are an
    error: nothing then says which is shown first."""
    unpacked = _unpacks_b_frames(container, stream)
    described = []
    for packet in demuxed(container, stream):
        if packet.pts is not None and packet.size:
            described.append((packet.pts, packet.dts, packet.is_keyframe, packet.is_discard,
                              _vop_type(packet) if unpacked else None))
        if each is not None:
            each(packet)
    if unpacked:
        packets = _typed_packet_list([(pts, dts, frame_type) for pts, dts, _, _, frame_type in described])
    else:
        packets = [Packet(pts, dts, keyframe, discard, pts) for pts, dts, keyframe, discard, _ in described]
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


def decoder_orders(container, stream) -> bool:
    """Whether only a decode tells the display order: AVI stores timestamps in decoding order, so for a codec that
    reorders frames (H.264 or MPEG-2 with B-frames) the order the decoder gives them out is the display order.
    (MPEG-4 Part 2 in AVI is read from its frame types instead: `_typed_packet_list`.)"""
    return "avi" in container.format.name.split(",") and stream.codec_context.name != "mpeg4" \
        and bool(stream.codec_context.has_b_frames)


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
    return [Packet(pts, dts, frame_type == "I", False, display[position])
            for position, (pts, dts, frame_type) in enumerate(typed)]


def packet_columns(packets: list) -> dict:
    """A stream's packet list as the column the builders store at prepare: {field: [value per packet]}."""
    return {name: [getattr(packet, name) for packet in packets] for name in PACKET_FIELDS}


def packets_from_columns(path: str, columns: dict) -> list:
    try:
        return list(map(Packet._make, zip(*(columns[name] for name in PACKET_FIELDS), strict=True)))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: packets={str(columns)[:200]} is not a packet list as `packet_columns` writes it "
                         f"({error}); prepare the dataset again.") from error


class FrameOrder(NamedTuple):
    """The frames a decode shows: the timestamps they carry in display order (frame i carries the i-th), and each
    timestamp's frame index. Made once per read."""

    timestamps: list
    index_of: dict


def frame_order(packets: list) -> FrameOrder:
    timestamps = [packet.pts for packet in sorted((packet for packet in packets if not packet.discard),
                                                  key=lambda packet: packet.display)]
    return FrameOrder(timestamps, {timestamp: index for index, timestamp in enumerate(timestamps)})


def start_keyframe(packets: list, order: FrameOrder, first_index: int) -> int:
    """Position (in decoding order) of the last keyframe shown at or before frame `first_index`: frames from it on
    decode without any earlier packet. 0 (the first packet) when there is none."""
    return max((position for position, packet in enumerate(packets)
                if packet.keyframe and order.index_of.get(packet.pts, first_index + 1) <= first_index), default=0)
