"""What a fine-tuning run may do with its output folder, so that it never loses a run: resume the last checkpoint
(asked with `--resume_from_checkpoint True`, or found there), refuse a folder that holds other files, start afresh
only when told to (`--overwrite_output_dir`); refuse a checkpoint that lacks state files or holds truncated ones (an
automatic resume takes the last one that is whole, with a warning); name a full disk.

The conventions are those of transformers' `run_*.py` scripts, with the checks they leave out.
"""

import errno
import json
import logging
import os
import re
import shutil
import zipfile
from pathlib import Path

logger = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# Besides the weights, what the Trainer needs to continue a run exactly where it stopped.
_TRAINING_STATE_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


class RunFolderError(SystemExit):
    """The output folder or the checkpoint cannot be used as asked; the message says why and what to do."""


def checkpoints_in(folder) -> list[Path]:
    """The folder's `checkpoint-N` folders, by step."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(match[1]), path) for path in folder.iterdir()
             if path.is_dir() and (match := _CHECKPOINT.match(path.name))]
    return [path for _, path in sorted(found)]


def resolve_resume(output_dir, resume_from_checkpoint, overwrite_output_dir: bool, is_main_process: bool = True,
                   process_index: int = 0, world_size: int = 1) -> str | None:
    """The checkpoint to resume from (None: start afresh), after the checks that keep a run from overwriting another.

    - `resume_from_checkpoint` "True": the last complete checkpoint of `output_dir` (an error if there is none).
    - A path: that checkpoint, which must be complete.
    - None: the last complete checkpoint of `output_dir` if it has one (logged), unless `overwrite_output_dir`; a
      folder that holds other files is refused; with `overwrite_output_dir` the previous checkpoints are removed (by
      the main process), so that a later resume cannot pick one of the old run's.
    Complete: it holds its weights and training state (`checkpoint_problems`); a checkpoint cut short (a full disk,
    a kill while saving) lacks its trainer_state.json, which the Trainer writes last."""
    output_dir = Path(output_dir)
    found = checkpoints_in(output_dir)
    if isinstance(resume_from_checkpoint, bool) or str(resume_from_checkpoint).lower() == "true":
        if not found:
            raise RunFolderError(f"--resume_from_checkpoint True: {output_dir} holds no checkpoint-N folder to resume "
                                 "from. Give a checkpoint's path, or leave the option out to start a new run.")
        return _last_complete(found, process_index, world_size)
    elif resume_from_checkpoint:
        checkpoint = Path(resume_from_checkpoint)
        if not checkpoint.is_dir():
            raise RunFolderError(f"--resume_from_checkpoint {checkpoint}: no such folder.")
    elif overwrite_output_dir:
        if is_main_process:
            for old in found:
                shutil.rmtree(old)
            if found:
                logger.warning(f"--overwrite_output_dir: removed {len(found)} checkpoint(s) of the previous run in "
                               f"{output_dir}; starting afresh.")
        return None
    elif found:
        checkpoint = _last_complete(found, process_index, world_size)
        logger.warning(f"{output_dir} holds checkpoints of an earlier run: resuming from {checkpoint}. To start "
                       "afresh instead, pass --overwrite_output_dir (it removes them) or another --output_dir.")
        return checkpoint
    else:
        leftovers = sorted(path.name for path in output_dir.iterdir()) if output_dir.is_dir() else []
        if leftovers:
            raise RunFolderError(
                f"--output_dir {output_dir} already holds files ({', '.join(leftovers[:5])}"
                f"{', ...' if len(leftovers) > 5 else ''}) and no checkpoint to resume from; they are not overwritten. "
                "Choose another --output_dir, or pass --overwrite_output_dir to write over them.")
        return None
    problems = checkpoint_problems(checkpoint, process_index, world_size)
    if problems:
        raise RunFolderError(f"cannot resume from {checkpoint}: it lacks {', '.join(problems)}. Resuming without them "
                             "would fail, or continue with fresh state and end elsewhere than the interrupted run; "
                             "resume from an earlier complete checkpoint, or start afresh.")
    return str(checkpoint)


def _last_complete(found: list, process_index: int, world_size: int) -> str:
    for checkpoint in reversed(found):
        problems = checkpoint_problems(checkpoint, process_index, world_size)
        if not problems:
            return str(checkpoint)
        logger.warning(f"{checkpoint} is incomplete (it lacks {', '.join(problems)}): not resumed from; trying "
                       "the one before.")
    raise RunFolderError(f"none of the checkpoints in {found[0].parent} is complete (see the warnings above): resume "
                         "from none of them; pass --overwrite_output_dir to start afresh.")


def checkpoint_problems(checkpoint, process_index: int = 0, world_size: int = 1) -> list[str]:
    """What keeps a checkpoint from continuing a run exactly: each of its files (weights, optimizer, scheduler,
    trainer state, this process's random state) that is missing, or there but truncated or damaged (a full disk, a
    kill while saving). Read without loading the tensors: the headers and indexes that a cut file loses."""
    checkpoint = Path(checkpoint)
    problems = [name for name in _TRAINING_STATE_FILES if not (checkpoint / name).is_file()]
    weights = [checkpoint / name for name in _WEIGHT_FILES if (checkpoint / name).is_file()]
    if not weights:
        problems.insert(0, "model weights (model.safetensors)")
    random_state = "rng_state.pth" if world_size <= 1 else f"rng_state_{process_index}.pth"
    if not (checkpoint / random_state).is_file():
        problems.append(random_state)
    present = [*weights, *(checkpoint / name for name in (*_TRAINING_STATE_FILES, random_state)
                           if (checkpoint / name).is_file())]
    for path in present:
        damage = _damage(path)
        if damage:
            problems.append(f"an intact {path.name} ({damage})")
    return problems


def _damage(path: Path) -> str | None:
    """Why the file cannot be what its name says (None: it can)."""
    try:
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".safetensors":
            _check_safetensors(path)
        elif path.suffix in (".pt", ".pth", ".bin"):
            with zipfile.ZipFile(path) as archive:  # torch.save's format; a cut file loses its index at the end
                if not archive.namelist():
                    return "empty"
        return None
    except (OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        return f"truncated or damaged: {error}"


def _check_safetensors(path: Path) -> None:
    """A safetensors file holds its header (8-byte length, JSON) and every tensor the header places."""
    size = path.stat().st_size
    with open(path, "rb") as file:
        prefix = file.read(8)
        if len(prefix) < 8:
            raise ValueError(f"{size} bytes, shorter than a header")
        header_size = int.from_bytes(prefix, "little")
        if header_size > size - 8:
            raise ValueError(f"a header of {header_size} bytes in {size}")
        header = json.loads(file.read(header_size))
    end = max((entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"), default=0)
    if 8 + header_size + end > size:
        raise ValueError(f"its tensors end at byte {8 + header_size + end}, the file at {size}")


def disk_full_error(error: BaseException, folder) -> RunFolderError | None:
    """A `RunFolderError` that says the disk of `folder` is full, if that is what `error` comes from; else None.
    torch's writer reports a full disk as "basic_ios::clear" or "failed writing": the free space decides then."""
    chain, seen = [], error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    no_space = any(getattr(link, "errno", None) == errno.ENOSPC or "No space left" in str(link) for link in chain)
    writer_failed = any(marker in str(link) for link in chain for marker in ("basic_ios::clear", "failed writing"))
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if not (no_space or (writer_failed and free is not None and free < 64 * 2**20)):
        return None
    return RunFolderError(
        f"No space left on the disk of {os.path.abspath(folder)} ({_size(free)} free) while the run was writing "
        f"there ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). Free some space or "
        "choose another --output_dir; the last complete checkpoint can be resumed with --resume_from_checkpoint.")


def _size(size: int | None) -> str:
    if size is None:
        return "unknown"
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size} bytes"
