"""The few facts of an MP4/MOV file's box structure that FFmpeg does not expose: whether its index (`moov`) is there,
and how many separate parts of the media its video track's edit list shows."""

from .video_sources import file_bytes


def edit_list_segments(path) -> int:
    """How many parts of the media the first video track's edit list shows (empty edits, which only delay the
    start, not counted) in an MP4/MOV file; 1 without an edit list."""
    moov = mp4_child(file_bytes(path), b"moov")
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
    data = file_bytes(path)
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
