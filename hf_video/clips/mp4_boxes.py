"""The few facts of an MP4/MOV file's box structure that FFmpeg does not expose: whether its index (`moov`) is there,
and how many separate parts of the media its video track's edit list shows."""

import os

from .video_sources import InMemoryVideo


def edit_list_segments(path) -> int:
    """How many parts of the media the first video track's edit list shows (empty edits, which only delay the
    start, not counted) in an MP4/MOV file; 1 without an edit list."""
    _, moov = _top_level_moov(path)
    for kind, trak in mp4_boxes(moov or b""):
        if kind != b"trak":
            continue
        handler = mp4_child(mp4_child(trak, b"mdia") or b"", b"hdlr") or b""
        if handler[8:12] != b"vide":
            continue
        elst = mp4_child(mp4_child(trak, b"edts") or b"", b"elst")
        if elst is None or len(elst) < 8:
            return 1
        version, count = elst[0], int.from_bytes(elst[4:8], "big")
        size, time_at = (20, 8) if version == 1 else (12, 4)
        times = [int.from_bytes(elst[8 + entry * size + time_at:8 + entry * size + 2 * time_at], "big", signed=True)
                 for entry in range(count) if 8 + (entry + 1) * size <= len(elst)]
        return max(1, sum(time != -1 for time in times))
    return 1


def mp4_boxes(data: bytes):
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


def mp4_child(data: bytes, kind: bytes) -> bytes | None:
    return next((payload for found, payload in mp4_boxes(data) if found == kind), None)


def is_mp4_without_index(path) -> bool:
    """An MP4/MOV file (its first box `ftyp`) whose top level holds no complete `moov` box."""
    starts_with_ftyp, moov = _top_level_moov(path)
    return starts_with_ftyp and moov is None


def _top_level_moov(path) -> tuple[bool, bytes | None]:
    """(Whether the file's first box is `ftyp`, the payload of its complete top-level `moov` box or None), reading
    only the top-level box headers and the moov itself: the media (`mdat`) can be gigabytes."""
    with (path.open() if isinstance(path, InMemoryVideo) else open(path, "rb")) as file:
        end = file.seek(0, os.SEEK_END)
        position, starts_with_ftyp = 0, False
        while position + 8 <= end:
            file.seek(position)
            header = file.read(16)
            size, kind, header_size = int.from_bytes(header[:4], "big"), header[4:8], 8
            if size == 1:
                size, header_size = int.from_bytes(header[8:16], "big"), 16
            elif size == 0:  # the last box, to the end of the file
                size = end - position
            if position == 0:
                starts_with_ftyp = kind == b"ftyp"
            if kind == b"moov":
                if position + size > end:
                    return starts_with_ftyp, None  # cut off
                file.seek(position + header_size)
                return starts_with_ftyp, file.read(size - header_size)
            if size < header_size:
                break  # damaged: what follows is not boxes
            position += size
    return starts_with_ftyp, None
