"""Writing a folder so that it is complete or absent: the converters' and the dataset export's output.

    with atomic_folder(output_dir) as staging:
        ...write into staging...
    # now output_dir holds exactly what was written; on an error, Ctrl-C or SIGTERM nothing is left

The folder is written beside `output_dir` under a hidden name that says which host and process write it, and renamed
into place at the end. A run killed outright (SIGKILL, a power cut) cannot clean up: the next run into the same folder
finds its staging folder, names it in a warning and removes it.
"""

import logging
import os
import shutil
import signal
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


def _staging_prefix(output_dir: Path) -> str:
    return f".{output_dir.name}.staging-"


@contextmanager
def atomic_folder(output_dir):
    """Yield an empty staging folder; on success it becomes `output_dir` (which must not exist, or be empty), with
    the permissions the umask gives a new folder."""
    output_dir = Path(output_dir)
    if output_dir.is_symlink():  # written where the link points, keeping the link (replacing it would drop it)
        output_dir = output_dir.resolve()
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise FileExistsError(f"{output_dir} exists and is not an empty folder; remove it or choose another one.")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(output_dir)
    with _interrupts_raise() as interrupted:
        prefix = f"{_staging_prefix(output_dir)}{socket.gethostname()}-{os.getpid()}-"
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=output_dir.parent))
        try:
            yield staging
            # A signal that arrived while writing, but whose exception some library caught, still stops the move.
            if interrupted:
                raise KeyboardInterrupt if interrupted[0] == signal.SIGINT else SystemExit(128 + interrupted[0])
            os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; the folder should be like any other
            if output_dir.exists():
                output_dir.rmdir()  # empty, checked above
            os.replace(staging, output_dir)
        except BaseException:  # Ctrl-C and SIGTERM too: never leave a half-written folder behind
            shutil.rmtree(staging, ignore_errors=True)
            raise


def remove_stale_staging(output_dir: Path) -> list:
    """Remove the staging folders of `output_dir` left by runs on this host whose process is gone; returns them."""
    host = socket.gethostname()
    stale = []
    for folder in output_dir.parent.glob(_staging_prefix(output_dir) + "*"):
        owner = folder.name[len(_staging_prefix(output_dir)):]  # <host>-<pid>-<random part, no "-">
        owner_host, _, pid = owner.rpartition("-")[0].rpartition("-")
        if owner_host != host or not pid.isdigit() or process_alive(int(pid)):
            continue  # another machine's (a shared file system) or a run still writing
        stale.append(folder)
    if stale:
        logger.warning(f"Removing {len(stale)} half-written folder(s) left by an interrupted run into {output_dir}: "
                       + ", ".join(str(folder) for folder in stale))
        for folder in stale:
            shutil.rmtree(folder, ignore_errors=True)
    return stale


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _interrupts_raise():
    """While writing, SIGINT raises KeyboardInterrupt and SIGTERM SystemExit (exit status 143, as if killed), so that
    the cleanup runs; yields the list of signals received."""
    received = []

    def interrupt(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)

    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, interrupt)
    except ValueError:  # not the main thread, where Python handles signals: nothing to install
        pass
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
