"""What a fine-tuning run may do with its output folder, so that it never loses a run: resume the last checkpoint
(asked with `--resume_from_checkpoint True`, or found there), refuse a folder that holds other files, start afresh
only when told to (`--overwrite_output_dir`); refuse a checkpoint that lacks state files; name a full disk.

The conventions are those of transformers' `run_*.py` scripts, with the checks they leave out.
"""

import errno
import logging
import os
import re
import shutil
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
                             "would continue with fresh state and end elsewhere than the interrupted run; resume from "
                             "an earlier complete checkpoint, or start afresh.")
    return str(checkpoint)


def _last_complete(found: list, process_index: int, world_size: int) -> str:
    for checkpoint in reversed(found):
        problems = checkpoint_problems(checkpoint, process_index, world_size)
        if not problems:
            return str(checkpoint)
        logger.warning(f"{checkpoint} is incomplete (it lacks {', '.join(problems)}): not resumed from.")
    raise RunFolderError(f"none of the checkpoints in {found[0].parent} is complete (see the warnings above): resume "
                         "from none of them; pass --overwrite_output_dir to start afresh.")


def checkpoint_problems(checkpoint, process_index: int = 0, world_size: int = 1) -> list[str]:
    """The files a checkpoint lacks to continue a run exactly (weights, optimizer, scheduler, trainer state, this
    process's random state)."""
    checkpoint = Path(checkpoint)
    missing = [name for name in _TRAINING_STATE_FILES if not (checkpoint / name).is_file()]
    if not any((checkpoint / name).is_file() for name in _WEIGHT_FILES):
        missing.insert(0, "model weights (model.safetensors)")
    random_state = "rng_state.pth" if world_size <= 1 else f"rng_state_{process_index}.pth"
    if not (checkpoint / random_state).is_file():
        missing.append(random_state)
    return missing


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
