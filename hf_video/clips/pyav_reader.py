"""Reading frames with PyAV: decode from the keyframe before the first wanted frame, identify every decoded frame by
its timestamp, convert only the wanted ones (the `pyav` backend of `video_io`)."""

from .frame_conversion import UnsupportedRotation, rgb_frame, rotation_error
from .packet_lists import FrameOrder, decoder_orders, demuxed, frame_order, packet_list, start_keyframe
from .pyav_container import open_pyav
from .video_sources import VideoDecodeError


def listed_packets(path, container, stream) -> tuple[list, int | None, float | None]:
    """(The packet list a read numbers frames by, the count of frames shown and the first one's rotation where it
    took a full decode, else None, None). Where only a decode tells the display order (`decoder_orders`), every
    packet is decoded; elsewhere the packets are listed without decoding, and those shown before the first frame a
    decode gives (a cut that kept the non-keyframes before its first keyframe) are marked as never shown."""
    if decoder_orders(container, stream):
        return packet_list_and_count(path, container, stream)
    return _without_undecodable_lead(path, packet_list(path, container, stream)), None, None


def _without_undecodable_lead(path, packets: list) -> list:
    """`packets` with those shown before the first frame a decode from the start gives marked as discarded: a
    decoder drops frames whose references are missing (FFmpeg shows 57 frames of a stream-copy cut that kept 62
    packets). Decodes only where the first packet is not a keyframe shown first, and only up to the first frame."""
    shown = [packet for packet in packets if not packet.discard]
    if not shown or (packets[0].keyframe and min(packet.display for packet in shown) >= packets[0].display):
        return packets
    container, stream = open_pyav(path)
    try:
        first_label = next((frame.pts for packet in demuxed(container, stream)
                            for frame in stream.codec_context.decode(packet)), None)
    finally:
        container.close()
    first_display = next((packet.display for packet in shown if packet.pts == first_label), None)
    if first_display is None:
        return packets  # nothing decodes, or under a label no packet has: the count says so later
    return [packet._replace(discard=True) if not packet.discard and packet.display < first_display else packet
            for packet in packets]


def packet_list_and_count(path: str, container, stream) -> tuple[list, int, float]:
    """`packet_list` (packets whose frame the decode did not show marked as discarded), the number of frames a
    sequential decode shows and the first frame's display rotation, from one pass that decodes every packet. The
    frames must come out in the display order the packet list gives."""
    codec, labels, rotations = stream.codec_context, [], []

    def decode(packet):
        for frame in codec.decode(packet):
            if not labels:
                rotations.append(frame.rotation)
            labels.append(frame.pts)

    packets = packet_list(path, container, stream, each=decode)
    if decoder_orders(container, stream):  # the order the decoder gave the frames out is the display order
        shown_at = {label: position for position, label in enumerate(labels)}
        packets = [packet._replace(display=shown_at.get(packet.pts, -1)) for packet in packets]
    rotation = rotations[0] if rotations else 0
    # A packet whose frame never came out (damaged, or a placeholder that carries none) is not shown: marked so, the
    # stored list numbers the frames as the decode showed them.
    seen = set(labels)
    packets = [packet if packet.discard or packet.pts in seen else packet._replace(discard=True)
               for packet in packets]
    index_of = frame_order(packets).index_of
    shown = [index_of[label] for label in labels if label in index_of]
    if any(later <= earlier for earlier, later in zip(shown, shown[1:])):
        raise out_of_order(path, container, stream)
    return packets, len(shown), rotation


def out_of_order(path, container, stream) -> VideoDecodeError:
    return VideoDecodeError(
        f"{path}: the decoder shows the frames in another order than the container's timestamps give "
        f"({stream.codec_context.name} in {container.format.name}); frames cannot be numbered exactly. Re-encode it "
        "(ffmpeg -i IN -c:v libx264 OUT.mp4).")


def decodable_count(path: str, container, stream, packets: list) -> tuple[int, float]:
    """(How many frames a sequential decode shows, the last one's display rotation): every frame before the last
    keyframe, plus those that decode from it (a file can promise a last frame that does not decode)."""
    order = frame_order(packets)
    if not order.timestamps:
        return 0, 0
    start = start_keyframe(packets, order, len(order.timestamps) - 1)
    decoded = decode_from(path, container, stream, packets, start, order, wanted=None)
    before_start = order.index_of.get(packets[start].pts, 0)
    rotation = decoded.last_frame.rotation if decoded.last_frame is not None else 0
    return before_start + decoded.num_shown_from_start, rotation


class Decoded:
    """The outcome of decoding from a start keyframe: the wanted frames found, and what the decode saw."""

    def __init__(self):
        self.frames = {}  # index -> RGB array
        self.last_index = None  # the last frame shown before the stream ended, if it did
        self.last_frame = None
        self.num_shown_from_start = 0
        self.reached_end = False


def decode_from(path: str, container, stream, packets: list, start: int, order: FrameOrder, wanted, skip=False,
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
    reopened, reopened_stream = open_pyav(path)  # from the beginning: the packets before the start are skipped
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
    result = Decoded()
    feeding = start_shown = False
    start_index = index_of.get(start_pts, 0)
    skip_mode = codec.skip_frame = "DEFAULT"
    try:
        for packet in demuxed(container, stream):
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
                    raise out_of_order(path, container, stream)
                result.num_shown_from_start += 1
                result.last_index, result.last_frame = index, frame
                if remaining is not None and label in remaining:
                    result.frames[index] = rgb_frame(frame)
                    remaining.discard(label)
                    if not remaining:
                        return result
    except UnsupportedRotation as error:
        raise rotation_error(path, error) from None
    finally:
        codec.skip_frame = "DEFAULT"
    if not feeding:
        return None
    result.reached_end = True
    return result


def pick_frames(path: str, indices: list, last_index: int, decoded: "Decoded", prepared: bool) -> list:
    """The frame of every requested index (clamped to `last_index`), or an error naming the first that is missing.
    A decode that reached the end of the stream ends the video where it ended."""
    picked = []
    for index in indices:
        clamped = min(index, last_index)
        if clamped not in decoded.frames and decoded.reached_end and decoded.last_index is not None \
                and clamped > decoded.last_index and not prepared:
            decoded.frames[clamped] = rgb_frame(decoded.last_frame)  # past the decodable end
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


def read_frames_pyav(path: str, indices: list, num_frames: int | None, packets: list | None) -> list:
    import av

    container, stream = open_pyav(path)
    stored = packets is not None
    try:
        if not stored:
            packets, _, _ = listed_packets(path, container, stream)
        order = frame_order(packets)
        shown = order.timestamps
        if not shown:
            raise VideoDecodeError(f"{path}: the video stream holds no frames.")
        if num_frames is not None:
            check_prepared_count(path, num_frames, len(shown))
        last_index = (num_frames or len(shown)) - 1
        wanted = sorted({min(index, last_index) for index in indices})
        start = start_keyframe(packets, order, wanted[0])
        decoded = decode_from(path, container, stream, packets, start, order, wanted, skip=True, untouched=stored)
        if len(decoded.frames) < len(wanted) and decoded.reached_end and num_frames is None:
            # The end of the video is unknown, and frames left undecoded by the skipping might be it: decode them all,
            # from a fresh container (a drained one does not give every frame again with every decoder).
            # (With the prepared count, a wanted frame that did not decode is an error however the rest went.)
            container.close()
            container, stream = open_pyav(path)
            decoded = decode_from(path, container, stream, packets, start, order, wanted, untouched=True)
    except av.FFmpegError as error:
        raise VideoDecodeError(f"{path}: decoding failed ({error}).") from error
    finally:
        container.close()
    return pick_frames(path, indices, last_index, decoded, prepared=num_frames is not None)


def check_prepared_count(path, num_frames: int, listed: int) -> None:
    """A prepared count the stream no longer lists is a changed file: reading it would clamp indices to frames the
    count does not know."""
    if num_frames > listed:
        raise VideoDecodeError(f"{path}: the stream lists {listed} frames, but {num_frames} were counted when the "
                               "dataset was prepared: the file or its stored packet list is not the one prepared; "
                               "prepare the dataset again.")
