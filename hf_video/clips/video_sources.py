"""What the video readers take (a local regular file, or a file's bytes as `InMemoryVideo`), the error they raise,
and whether a file is still the one a dataset was prepared from."""

import io
import os
import re
import stat
from dataclasses import dataclass


# The suffixes of video files, for finding a folder's videos (own datasets, prediction); FFmpeg reads more.
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp",
                  ".ogv")


class VideoDecodeError(RuntimeError):
    """A video file could not be opened or decoded; the message names the file and the reason."""


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


def file_bytes(path) -> bytes:
    if isinstance(path, InMemoryVideo):
        return path.data
    with open(path, "rb") as file:
        return file.read()


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
